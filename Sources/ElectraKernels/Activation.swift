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

    /// One vector through the activation (switches per call; use `forward` for arrays).
    @inline(__always)
    public func apply(_ x: Vec) -> Vec {
        switch self {
        case .gelu: Self.gelu(x)
        case .geluNew: Self.geluNew(x)
        case .relu: Self.relu(x)
        case .silu: Self.silu(x)
        case .tanh: vtanh(x)
        case .sigmoid: vsigmoid(x)
        case .linear: x
        }
    }

    @_transparent static func gelu(_ x: Vec) -> Vec { 0.5 * x * (1 + verf(x * 0.70710678118654752)) }
    @_transparent static func geluNew(_ x: Vec) -> Vec {
        0.5 * x * (1 + vtanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    }
    @_transparent static func relu(_ x: Vec) -> Vec { x.replacing(with: 0, where: x .< 0) }
    @_transparent static func silu(_ x: Vec) -> Vec { x * vsigmoid(x) }

    /// In place over `rows x columns`, adding `bias[columns]` first when given. Parallel.
    /// Each case gets its own loop so the vector function is inlined, not called per 8 floats.
    public func forward(
        _ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>? = nil
    ) {
        switch self {
        case .gelu: Self.map(x, rows, columns, bias, Self.gelu)
        case .geluNew: Self.map(x, rows, columns, bias, Self.geluNew)
        case .relu: Self.map(x, rows, columns, bias, Self.relu)
        case .silu: Self.map(x, rows, columns, bias, Self.silu)
        case .tanh: Self.map(x, rows, columns, bias, { vtanh($0) })
        case .sigmoid: Self.map(x, rows, columns, bias, { vsigmoid($0) })
        case .linear: if let bias { addBiasRows(x, bias, rows: rows, columns: columns) }
        }
    }

    @inline(__always)
    static func map(
        _ x: UnsafeMutablePointer<Float>, _ rows: Int, _ columns: Int, _ bias: UnsafePointer<Float>?,
        _ f: (Vec) -> Vec
    ) {
        Parallel.forRanges(rows, minChunk: max(1, 16384 / max(columns, 1))) { _, r in
            for row in r {
                let p = x + row * columns
                var i = 0
                while i + vecWidth <= columns {
                    var v = loadVec(p + i)
                    if let bias { v += loadVec(bias + i) }
                    storeVec(f(v), p + i)
                    i += vecWidth
                }
                if i < columns {
                    var v = loadPartial(p + i, columns - i, fill: 0)
                    if let bias { v += loadPartial(bias + i, columns - i, fill: 0) }
                    storePartial(f(v), p + i, columns - i)
                }
            }
        }
    }
}
