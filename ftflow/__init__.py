"""ftflow: fine-tune Azure OpenAI models on your own data, orchestrated by Prefect.

This package is the core library. It never imports Prefect: the Prefect side lives in the
top-level ``tasks``, ``flows`` and ``deployments`` packages, which import from here.
"""

__version__ = "0.1.0"
