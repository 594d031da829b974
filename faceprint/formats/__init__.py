"""Model-file formats, read (and written) without their frameworks: protobuf and ONNX graphs, dlib
``.dat``, Caffe ``.caffemodel``, Keras ``.h5`` (with the Keras layer engine on PyTorch), TF.js
weights manifests. No model lives here; nothing heavy is imported here."""
