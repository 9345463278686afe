/// The activations an ELECTRA config can name (HF `ACT2FN` keys we support).
public enum Activation: String, Sendable, CaseIterable {
    /// Exact erf form: x * 0.5 * (1 + erf(x / sqrt 2)). What every published checkpoint uses.
    case gelu
    /// Tanh approximation (HF "gelu_new", also "gelu_pytorch_tanh", "gelu_fast" differ only in
    /// how the constant is written).
    case geluNew = "gelu_new"
    case relu
    case silu
    case tanh
    case sigmoid
    case linear

    /// Parses an HF activation name; nil when unsupported.
    public init?(hfName: String) {
        switch hfName {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluNew
        case "relu": self = .relu
        case "silu", "swish": self = .silu
        case "tanh": self = .tanh
        case "sigmoid": self = .sigmoid
        case "linear", "identity": self = .linear
        default: return nil
        }
    }

    public static let supportedNames = [
        "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "tanh",
        "sigmoid", "linear",
    ]

    @inline(__always)
    public func apply(_ x: Vec) -> Vec {
        switch self {
        case .gelu:
            return 0.5 * x * (1 + verf(x * 0.70710678118654752))
        case .geluNew:
            let inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + vtanh(inner))
        case .relu:
            return x.replacing(with: 0, where: x .< 0)
        case .silu:
            return x * vsigmoid(x)
        case .tanh:
            return vtanh(x)
        case .sigmoid:
            return vsigmoid(x)
        case .linear:
            return x
        }
    }

    /// In place over `rows x columns`, adding `bias[columns]` first when given. Parallel.
    public func forward(
        _ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>? = nil
    ) {
        let act = self
        Parallel.forRanges(rows, minChunk: max(1, 16384 / max(columns, 1))) { _, r in
            for row in r {
                let p = x + row * columns
                if let bias {
                    var i = 0
                    while i + vecWidth <= columns {
                        storeVec(act.apply(loadVec(p + i) + loadVec(bias + i)), p + i)
                        i += vecWidth
                    }
                    while i < columns {
                        let v = loadPartial(p + i, 1, fill: 0) + Vec(repeating: bias[i])
                        p[i] = act.apply(v)[0]
                        i += 1
                    }
                } else {
                    mapInPlace(p, columns, act.apply)
                }
            }
        }
    }
}
