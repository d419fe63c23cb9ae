"""The anatomy of attention: head statistics, one head step by step, the multi-head step,
embeddings and positions, and comparing two inputs. `AnatomyPanel(workspace)` holds them all."""

from explorer.ui.anatomy.panel import AnatomyPanel

__all__ = ["AnatomyPanel"]
