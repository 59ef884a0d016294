"""Installs `nets`: TF-slim Inception V3 on tf.compat.v1 with tf-slim 1.1.0."""

import setuptools

setuptools.setup(
    name='slim-inception-v3',
    version='0.1.0',
    description=('TF-slim Inception V3 for graph-mode TensorFlow (tf.compat.v1), '
                 'compatible with the released slim checkpoints.'),
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=['nets', 'nets.benchmarking'],
    # The ImageNet class names nets.imagenet reads (its header says where
    # they came from).
    package_data={'nets': ['data/*.txt']},
    py_modules=['benchmark'],
    python_requires='>=3.9',
    install_requires=[
        'tensorflow>=2.16,<3',
        'tf-slim>=1.1.0,<2',
        'absl-py>=1.0',
        'numpy>=1.23',
    ],
    extras_require={
        # pytest-xdist: the suite in parallel processes (README: "Dependencies").
        'test': ['pytest>=7', 'pytest-xdist>=3'],
        # `python -m nets.to_onnx` and the onnxruntime rows of
        # `benchmark.py --compare` (README: "Dependencies").
        'onnx': ['tf2onnx>=1.17.0', 'onnxruntime>=1.19'],
        # The LiteRT interpreter for `python -m nets.to_tflite`, eval's
        # --tflite_model and the tflite rows of `benchmark.py --compare`
        # (without it: tf.lite.Interpreter, deprecated; README: "TensorFlow
        # Lite"). Tested with 2.3.0.
        'tflite': ['ai-edge-litert>=2.3'],
        # The openvino row of `benchmark.py --compare` (README: "Dependencies").
        'openvino': ['tf2onnx>=1.17.0', 'openvino>=2024.0'],
        # The Keras legacy layer behind slim.batch_norm(renorm=True) and
        # adjustment=... (README: "Why a compatibility layer").
        'tf-keras': ['tf-keras>=2.16,<3'],
    },
    license='Apache-2.0',
)
