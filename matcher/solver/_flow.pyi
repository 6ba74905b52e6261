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

class Auction:
    bids: int
    def __init__(
        self,
        starts: IntArray,
        rows: IntArray,
        cols: IntArray,
        vals: IntArray,
        wanted: IntArray,
        capacity: IntArray,
    ) -> None: ...
    def phase(self, eps: int, backoff: int) -> None: ...
    def run(self, seconds: float, max_bids: int) -> bool: ...
    @property
    def pending(self) -> int: ...
    releases: int
    def prices(self) -> IntArray: ...
    def holds(self) -> NDArray[np.bool_]: ...
