"""The network: registries of backbones, architectures and losses (tables), ImageNet weights, freezing stages.
On top of the base layer only.
"""
