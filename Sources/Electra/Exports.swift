// `import Electra` brings the tensor and kernel types (Tensor, Activation, Parallel) too.
@_exported import ElectraKernels
