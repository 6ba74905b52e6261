"""Chinese text to sparse TF-IDF vectors (jieba, scikit-learn; no DB, no HTTP)."""
