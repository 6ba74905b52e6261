import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]

class ScalingKernel:
    n_nodes: int
    n_arcs: int
    refines: int
    total_refines: int
    pushes: int
    relabels: int
    updates: int
    corrections: int
    eps: int
    scanned: int
    root_relabels: int
    multiplier: int
    def __init__(
        self,
        tail: IntArray,
        head: IntArray,
        lower: IntArray,
        upper: IntArray,
        cost: IntArray,
        supply: IntArray,
        flow: IntArray,
        pot: IntArray,
        alpha: int = 5,
        price_update: bool = True,
        look_ahead: bool = True,
    ) -> None: ...
    @property
    def fraction(self) -> float: ...
    def run(self, seconds: float) -> int: ...
    def flows(self) -> None: ...
    def min_reduced_cost(self) -> int: ...
