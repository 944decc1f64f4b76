-- lunet.image: PNG images from tensors (see docs/image.md); placeholder
return {}
