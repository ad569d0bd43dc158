"""Fine-tuning from documentation only: training pairs, hard negatives, the LoRA embedder.

Nothing here may read the evaluation tasks except to prove that no training text contains one
(``training.dataset.assert_clean``).
"""
