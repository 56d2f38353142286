"""``layercheck``: a drop-in for ``aws ecr batch-check-layer-availability``, extended to many repositories, the deployed
layercheck API and CI gates."""

__version__ = "0.1.0"
