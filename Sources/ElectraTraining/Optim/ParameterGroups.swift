import Electra

/// Which parameters get weight decay. HF's Trainer and ELECTRA both skip LayerNorm weights
/// and every bias.
public enum WeightDecayPolicy: Sendable {
    /// `ParameterRole.decays`: linear weights and embeddings decay; biases and LayerNorm
    /// weights/biases do not. The default.
    case byRole
    /// By HF name, as the original code does with `exclude_from_weight_decay=["LayerNorm",
    /// "layer_norm", "bias"]`: no decay when the name contains "LayerNorm" or "layer_norm",
    /// or its last component contains "bias".
    case byName
    /// Everything decays (PyTorch's AdamW given all parameters in one group).
    case all
    /// The caller decides.
    case custom(@Sendable (_ name: String, _ parameter: Parameter) -> Bool)

    public func decays(name: String, parameter: Parameter) -> Bool {
        switch self {
        case .byRole: parameter.role.decays
        case .byName: Self.nameDecays(name)
        case .all: true
        case .custom(let f): f(name, parameter)
        }
    }

    public static func nameDecays(_ name: String) -> Bool {
        if name.contains("LayerNorm") || name.contains("layer_norm") { return false }
        let last = name.split(separator: ".").last.map(String.init) ?? name
        return !last.contains("bias")
    }
}

/// ELECTRA's layer-wise learning-rate decay for fine-tuning (`_get_layer_lrs` in
/// google-research/electra model/optimization.py): a parameter at depth d gets
/// `rate * decay^(numLayers + 2 - d)`, with depths
///
/// | HF name (the `electra.` prefix optional)     | depth        | exponent (12 layers) |
/// |----------------------------------------------|--------------|----------------------|
/// | `embeddings.*`, `embeddings_project.*`       | 0            | numLayers + 2 (14)   |
/// | `encoder.layer.{i}.*`                        | i + 1        | numLayers + 1 - i    |
/// | everything else (the task head)              | numLayers + 2| 0                    |
///
/// Note the gap the original leaves: no parameter sits at depth numLayers + 1, so the top
/// encoder layer gets decay^2, not decay^1.
public struct LayerwiseLRDecay: Sendable, Equatable {
    /// The per-layer factor (0.8 in the original's fine-tuning recipe, 0.9 for large). A
    /// Double, as the original's Python float: 0.8^14 from a Float 0.8 is off by 2e-7.
    public var decay: Double
    public var numLayers: Int

    public init(decay: Double, numLayers: Int) {
        self.decay = decay
        self.numLayers = numLayers
    }

    /// The original's depth of the parameter called `name` (HF naming).
    public func depth(of name: String) -> Int {
        var n = Substring(name)
        if n.hasPrefix("electra.") { n = n.dropFirst("electra.".count) }
        if n.hasPrefix("embeddings.") || n.hasPrefix("embeddings_project.") { return 0 }
        let layerPrefix = "encoder.layer."
        if n.hasPrefix(layerPrefix) {
            let rest = n.dropFirst(layerPrefix.count)
            if let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]) {
                precondition(i >= 0 && i < numLayers,
                             "parameter \(name) is in encoder layer \(i), but the layer-wise decay has \(numLayers) layers")
                return i + 1
            }
        }
        return numLayers + 2
    }

    /// decay^(numLayers + 2 - depth), computed in Double.
    public func multiplier(for name: String) -> Float {
        Float(pow(decay, Double(numLayers + 2 - depth(of: name))))
    }

    /// The multiplier of every name in `table` (aliases of a tied parameter included; the
    /// optimizer uses the first name, that of `uniqueParameters`).
    public func multipliers(for table: ParameterTable) -> [String: Float] {
        Dictionary(uniqueKeysWithValues: table.names.map { ($0, multiplier(for: $0)) })
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
