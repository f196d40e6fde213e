"""Argument checks shared by the incremental losses of every codebase."""

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(reduction: str) -> str:
    """``reduction``, or ``ValueError`` unless it is one of
    :data:`REDUCTIONS` (the reductions of the upstream losses)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} must be 'none', 'mean' "
                         f"or 'sum'")
    return reduction
