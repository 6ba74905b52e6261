# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Exact top-k of a sparse product, row by row, in compiled code that releases the GIL.

For each row ``i`` of ``A`` (CSR) the products with every column of ``B`` (CSR, features x columns)
are summed into a dense float32 accumulator, in the order of ``A``'s row entries and then of ``B``'s
row entries; the ``k`` largest sums above ``threshold`` are kept, ties going to the lower column. The
accumulator is scanned once per row, and cleared in the same pass.
"""

from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport calloc, free, malloc


cdef inline bint _weaker(float va, int32_t ca, float vb, int32_t cb) noexcept nogil:
    # Order of the kept set: a lower score is weaker; among equal scores the higher column is.
    return va < vb or (va == vb and ca > cb)


cdef inline void _sift_down(float* val, int32_t* col, int n, int at) noexcept nogil:
    cdef int child
    cdef float v = val[at]
    cdef int32_t c = col[at]
    while True:
        child = 2 * at + 1
        if child >= n:
            break
        if child + 1 < n and _weaker(val[child + 1], col[child + 1], val[child], col[child]):
            child += 1
        if not _weaker(val[child], col[child], v, c):
            break
        val[at] = val[child]
        col[at] = col[child]
        at = child
    val[at] = v
    col[at] = c


cdef inline void _sift_up(float* val, int32_t* col, int at) noexcept nogil:
    cdef int parent
    cdef float v = val[at]
    cdef int32_t c = col[at]
    while at > 0:
        parent = (at - 1) // 2
        if not _weaker(v, c, val[parent], col[parent]):
            break
        val[at] = val[parent]
        col[at] = col[parent]
        at = parent
    val[at] = v
    col[at] = c


cdef inline void _by_column(float* val, int32_t* col, int n) noexcept nogil:
    # Insertion sort by column: at most k entries.
    cdef int i, j
    cdef float v
    cdef int32_t c
    for i in range(1, n):
        v = val[i]
        c = col[i]
        j = i - 1
        while j >= 0 and col[j] > c:
            val[j + 1] = val[j]
            col[j + 1] = col[j]
            j -= 1
        val[j + 1] = v
        col[j + 1] = c


def top_rows(
    const float[::1] a_data,
    const int32_t[::1] a_indices,
    const int64_t[::1] a_indptr,
    const float[::1] b_data,
    const int32_t[::1] b_indices,
    const int64_t[::1] b_indptr,
    int64_t start,
    int64_t stop,
    int n_columns,
    int k,
    float threshold,
    float[:, ::1] out_values,
    int32_t[:, ::1] out_columns,
    int32_t[::1] out_counts,
):
    """Rows ``start:stop`` of the top-``k`` product into ``out_*`` (row ``i`` at ``i - start``),
    columns ascending; ``out_counts`` holds how many each row kept. The wrapper validates shapes."""
    cdef float* acc
    cdef float* heap_val
    cdef int32_t* heap_col
    cdef int64_t i, p, q, q_end
    cdef int32_t j, n
    cdef float v, s
    with nogil:
        acc = <float*> calloc(max(n_columns, 1), sizeof(float))
        heap_val = <float*> malloc(max(k, 1) * sizeof(float))
        heap_col = <int32_t*> malloc(max(k, 1) * sizeof(int32_t))
        if acc == NULL or heap_val == NULL or heap_col == NULL:
            free(acc)
            free(heap_val)
            free(heap_col)
            with gil:
                raise MemoryError("no memory for the top-k accumulator")
        for i in range(start, stop):
            for p in range(a_indptr[i], a_indptr[i + 1]):
                v = a_data[p]
                q_end = b_indptr[a_indices[p] + 1]
                for q in range(b_indptr[a_indices[p]], q_end):
                    acc[b_indices[q]] += v * b_data[q]
            n = 0
            for j in range(n_columns):
                s = acc[j]
                acc[j] = 0
                if s > threshold:
                    if n < k:
                        heap_val[n] = s
                        heap_col[n] = j
                        _sift_up(heap_val, heap_col, n)
                        n += 1
                    elif s > heap_val[0]:  # a later column never wins a tie
                        heap_val[0] = s
                        heap_col[0] = j
                        _sift_down(heap_val, heap_col, n, 0)
            _by_column(heap_val, heap_col, n)
            for j in range(n):
                out_values[i - start, j] = heap_val[j]
                out_columns[i - start, j] = heap_col[j]
            out_counts[i - start] = n
        free(acc)
        free(heap_val)
        free(heap_col)
