import numpy as np
from numpy.typing import NDArray

def top_rows(
    a_data: NDArray[np.float32],
    a_indices: NDArray[np.int32],
    a_indptr: NDArray[np.int64],
    b_data: NDArray[np.float32],
    b_indices: NDArray[np.int32],
    b_indptr: NDArray[np.int64],
    start: int,
    stop: int,
    n_columns: int,
    k: int,
    threshold: float,
    out_values: NDArray[np.float32],
    out_columns: NDArray[np.int32],
    out_counts: NDArray[np.int32],
) -> None: ...
