import ElectraKernels

/// HF `ElectraModel`: the backbone alone; its parameter names carry no `electra.` prefix.
public final class ElectraModel: ElectraHeadModel {
    public static let architecture = "ElectraModel"
    public let config: ElectraConfig
    public let backbone: ElectraBackbone
    public let parameters: ParameterTable

    public init(config: ElectraConfig, builder vb: ParameterBuilder) throws {
        self.config = config
        backbone = try ElectraBackbone(vb, config: config)
        parameters = vb.table
    }

    public func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions) throws -> ElectraOutput {
        try backbone(inputs, options: options)
    }
}
