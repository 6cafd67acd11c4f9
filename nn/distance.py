"""Distance layers: CosineSimilarity, PairwiseDistance."""

__all__ = []
