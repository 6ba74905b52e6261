import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]

class FlowKernel:
    n_nodes: int
    n_arcs: int
    total: int
    routed: int
    paths: int
    settled_nodes: int
    scanned_arcs: int
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
    ) -> None: ...
    @property
    def fraction(self) -> float: ...
    def run(self, seconds: float) -> int: ...
    def flows(self) -> None: ...
    def min_reduced_cost(self) -> int: ...

def auction_prices(
    starts: IntArray,
    rows: IntArray,
    cols: IntArray,
    vals: IntArray,
    wanted: IntArray,
    capacity: IntArray,
    eps: int,
    max_bids: int,
) -> tuple[IntArray, int, NDArray[np.bool_]]: ...
