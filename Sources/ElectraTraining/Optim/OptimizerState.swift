import Foundation
import Electra

/// An optimizer's resumable state as named tensors, ready for a safetensors file:
///
/// | name                      | dtype | shape             |
/// |---------------------------|-------|-------------------|
/// | `exp_avg.<param name>`    | F32   | the parameter's   |
/// | `exp_avg_sq.<param name>` | F32   | the parameter's   |
/// | `step`                    | I64   | [1]               |
///
/// one pair per unique parameter (a tied weight under its first HF name), and metadata
/// `optimizer` = the optimizer's `kind`. The learning rate is not stored: it is a function
/// of `step` (see `LearningRateSchedule`).
public struct OptimizerState: @unchecked Sendable {
    public static let expAvgPrefix = "exp_avg."
    public static let expAvgSqPrefix = "exp_avg_sq."
    public static let stepName = "step"
    public static let kindMetadataKey = "optimizer"

    public var kind: String
    public var step: Int
    /// The moments by `exp_avg.<name>` / `exp_avg_sq.<name>`.
    public var tensors: [String: Tensor]

    public init(kind: String, step: Int, tensors: [String: Tensor]) {
        self.kind = kind
        self.step = step
        self.tensors = tensors
    }

    /// The tensors for `SafeTensorsWriter`, `step` included.
    public var payloads: [(String, TensorPayload)] {
        tensors.map { ($0.key, TensorPayload.float($0.value)) }
            + [(Self.stepName, .int64(IntTensor(shape: [1], values: [step])))]
    }

    public var metadata: [String: String] { [Self.kindMetadataKey: kind] }

    /// Writes a safetensors file atomically (temporary file + rename).
    public func write(to url: URL) throws {
        try SafeTensorsWriter.write(payloads, metadata: metadata, to: url)
    }

    /// Reads a file written by `write(to:)`. The tensors are copies, independent of the file.
    public init(contentsOf url: URL) throws {
        let file = try SafeTensorsFile(url: url)
        try self.init(file: file)
    }

    public init(file: SafeTensorsFile) throws {
        let name = file.url.lastPathComponent
        guard let kind = file.metadata[Self.kindMetadataKey] else {
            throw ElectraError("\(name): not an optimizer state file (no '\(Self.kindMetadataKey)' in the metadata)")
        }
        guard file.records[Self.stepName] != nil else {
            throw ElectraError("\(name): optimizer state has no '\(Self.stepName)' tensor")
        }
        let stepTensor = try file.intTensor(Self.stepName)
        guard stepTensor.values.count == 1 else {
            throw ElectraError("\(name): optimizer state tensor 'step' has shape \(shapeString(stepTensor.shape)), expected [1]")
        }
        guard (0..<1 << 40).contains(stepTensor.values[0]) else {
            throw ElectraError("\(name): optimizer state tensor 'step' is \(stepTensor.values[0]), expected a step count >= 0")
        }
        var tensors: [String: Tensor] = [:]
        for key in file.names where key != Self.stepName {
            guard key.hasPrefix(Self.expAvgPrefix) || key.hasPrefix(Self.expAvgSqPrefix) else {
                throw ElectraError("\(name): unexpected tensor '\(key)' in optimizer state (expected exp_avg.*, exp_avg_sq.*, step)")
            }
            tensors[key] = try file.floatTensor(key).copy()
        }
        self.init(kind: kind, step: stepTensor.values[0], tensors: tensors)
    }
}
