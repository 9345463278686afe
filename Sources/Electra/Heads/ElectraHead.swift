import ElectraKernels
import Foundation

/// One HF ELECTRA class (the base model or a head). Every class owns a backbone and a table
/// of its parameters by HF name.
public protocol ElectraHeadModel: AnyObject, Sendable {
    /// HF class name, as in config.json `architectures`.
    static var architecture: String { get }
    var config: ElectraConfig { get }
    var backbone: ElectraBackbone { get }
    var parameters: ParameterTable { get }
    init(config: ElectraConfig, builder: ParameterBuilder) throws
    func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions) throws -> ElectraOutput
}

extension ElectraHeadModel {
    /// Builds the model with HF's random initialisation (no checkpoint).
    public init(config: ElectraConfig, seed: UInt64 = 0) throws {
        try self.init(config: config, builder: ParameterBuilder(weights: nil, initializerRange: config.initializerRange, seed: seed))
    }

    /// `from_pretrained` for a folder with config.json and weights. Missing head weights are
    /// initialised and listed in the report; unexpected ones listed; wrong shapes throw.
    public static func load(from directory: URL, seed: UInt64 = 0) throws -> (model: Self, report: LoadReport) {
        let config = try ElectraConfig.load(from: try ModelFolder.configURL(directory))
        let weights = try CheckpointWeights.open(directory)
        return try load(config: config, weights: weights, seed: seed)
    }

    public static func load(config: ElectraConfig, weights: CheckpointWeights, seed: UInt64 = 0) throws -> (model: Self, report: LoadReport) {
        let builder = ParameterBuilder(weights: weights, initializerRange: config.initializerRange, seed: seed)
        let model = try Self(config: config, builder: builder)
        return (model, builder.report())
    }

    public func callAsFunction(_ inputs: ElectraInputs) throws -> ElectraOutput {
        try self(inputs, options: ForwardOptions())
    }

    public var parameterCount: Int { parameters.parameterCount }
}

public enum ModelFolder {
    public static func configURL(_ directory: URL) throws -> URL {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir) else {
            throw ElectraError("model folder \(directory.path) does not exist")
        }
        guard isDir.boolValue else { throw ElectraError("\(directory.path) is not a folder (expected a model folder with config.json)") }
        let url = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ElectraError("missing config.json in \(directory.path)")
        }
        return url
    }
}

extension ElectraInputs {
    /// Per-token integer labels shaped like input_ids, or nil when none are given.
    func tokenLabels() throws -> IntTensor? {
        let labels = try requireIntLabels()
        if let labels, labels.shape != inputIds.shape {
            throw ElectraError("labels has shape \(shapeString(labels.shape)) but input_ids has \(shapeString(inputIds.shape))")
        }
        return labels
    }

    /// The same, required (training `head`).
    func requiredTokenLabels(_ head: String) throws -> IntTensor {
        guard let labels = try tokenLabels() else {
            throw ElectraError("training \(head) needs integer labels shaped like input_ids (-100 = ignore)")
        }
        return labels
    }

    func requireIntLabels(_ name: String = "labels") throws -> IntTensor? {
        if floatLabels != nil && labels == nil {
            throw ElectraError("\(name) must be integers for this head (got floating-point labels)")
        }
        return labels
    }
}
