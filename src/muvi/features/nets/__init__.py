"""Network architectures of the pretrained visual models, written for MuVi.

- :mod:`.vgg_fer`: the VGG19 facial-expression classifier (FER2013, 7 classes).
- :mod:`.i3d`: Inception-v1 inflated to 3-D (I3D), Kinetics-400 action classes.

Both take a ``width`` factor so that tests can build small models of the same
structure; parameter names follow the public PyTorch checkpoints named in
:mod:`muvi.features.weights`, so the released weights load unchanged.
"""
