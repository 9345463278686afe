import CVectorKernels

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
        case .gelu: GeluKernel.forward(x)
        case .geluNew: GeluNewKernel.forward(x)
        case .relu: ReluKernel.forward(x)
        case .silu: SiluKernel.forward(x)
        case .tanh: TanhKernel.forward(x)
        case .sigmoid: SigmoidKernel.forward(x)
        case .linear: x
        }
    }

    /// In place over `rows x columns`, adding `bias[columns]` first when given. Parallel.
    public func forward(
        _ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>? = nil
    ) {
        switch self {
        case .gelu: Self.map(x, rows, columns, bias, GeluKernel.self)
        case .geluNew: Self.map(x, rows, columns, bias, GeluNewKernel.self)
        case .relu: Self.map(x, rows, columns, bias, ReluKernel.self)
        case .silu: Self.map(x, rows, columns, bias, SiluKernel.self)
        case .tanh: Self.map(x, rows, columns, bias, TanhKernel.self)
        case .sigmoid: Self.map(x, rows, columns, bias, SigmoidKernel.self)
        case .linear: if let bias { addBiasRows(x, bias, rows: rows, columns: columns) }
        }
    }

    /// The loop is generic over the kernel type, not handed a closure: a closure argument
    /// stayed one call per 8 floats in release builds (prologue, spills and all), while a
    /// specialised static call inlines into the loop.
    /// `portable` skips the kernel's AVX2 form (tests compare the two).
    @inline(__always)
    static func map<K: ActivationKernel>(
        _ x: UnsafeMutablePointer<Float>, _ rows: Int, _ columns: Int, _ bias: UnsafePointer<Float>?, _: K.Type,
        portable: Bool = false
    ) {
        let fast = portable ? nil : K.fastForward
        // ~4K floats a chunk: even 16 tokens through an FFN (16 x 1024) are worth two threads.
        Parallel.forChunks(rows, minChunk: max(1, 4096 / max(columns, 1))) { _, r in
            if let fast {
                for row in r { fast(x + row * columns, bias, columns) }
                return
            }
            for row in r {
                let p = x + row * columns
                var i = 0
                if let bias {
                    while i + vecWidth <= columns {
                        storeVec(K.forward(loadVec(p + i) + loadVec(bias + i)), p + i)
                        i += vecWidth
                    }
                } else {
                    while i + vecWidth <= columns {
                        storeVec(K.forward(loadVec(p + i)), p + i)
                        i += vecWidth
                    }
                }
                if i < columns {
                    var v = loadPartial(p + i, columns - i, fill: 0)
                    if let bias { v += loadPartial(bias + i, columns - i, fill: 0) }
                    storePartial(K.forward(v), p + i, columns - i)
                }
            }
        }
    }
}

/// One activation as a type: its function and derivative on one vector. Loops take the
/// type as a generic parameter so that both inline (see `Activation.map`).
protocol ActivationKernel {
    static func forward(_ x: Vec) -> Vec
    static func derivative(_ x: Vec) -> Vec
    /// A whole-run form from CVectorKernels, when this CPU runs one (see `VectorISA`):
    /// x[i] = f(x[i] + bias[i]) (bias may be nil), and dx[i] = dy[i] f'(pre[i]).
    static var fastForward: ForwardRun? { get }
    static var fastBackward: BackwardRun? { get }
}

/// (x, bias, n) and (pre, dy, dx, n): the C kernels' signatures.
typealias ForwardRun = @convention(c) (UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, Int) -> Void
typealias BackwardRun = @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

extension ActivationKernel {
    static var fastForward: ForwardRun? { nil }
    static var fastBackward: BackwardRun? { nil }
}

/// Exact GELU, x Φ(x) = x * 0.5 * (1 + erf(x / sqrt 2)); f' = Φ(x) + x φ(x).
enum GeluKernel: ActivationKernel {
    @_transparent static func forward(_ x: Vec) -> Vec { 0.5 * x * (1 + verf(x * 0.70710678118654752)) }
    @_transparent static func derivative(_ x: Vec) -> Vec {
        let cdf = 0.5 * (1 + verf(x * 0.70710678118654752))
        return cdf + x * 0.3989422804014327 * vexp(-0.5 * x * x)
    }
    static var fastForward: ForwardRun? { VectorISA.gelu }
    static var fastBackward: BackwardRun? { VectorISA.geluBackward }
}

/// GELU, tanh approximation.
enum GeluNewKernel: ActivationKernel {
    @_transparent static func forward(_ x: Vec) -> Vec {
        0.5 * x * (1 + vtanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    }
    @_transparent static func derivative(_ x: Vec) -> Vec {
        let k: Float = 0.7978845608028654
        let x2: Vec = x * x
        let t: Vec = vtanh(k * (x + 0.044715 * x2 * x))
        let dInner: Vec = k * (1 + 0.134145 * x2)
        let sech2: Vec = 1 - t * t
        return 0.5 * (1 + t) + 0.5 * x * sech2 * dInner
    }
}

enum ReluKernel: ActivationKernel {
    @_transparent static func forward(_ x: Vec) -> Vec { x.replacing(with: 0, where: x .< 0) }
    @_transparent static func derivative(_ x: Vec) -> Vec { Vec(repeating: 1).replacing(with: 0, where: x .<= 0) }
}

enum SiluKernel: ActivationKernel {
    @_transparent static func forward(_ x: Vec) -> Vec { x * vsigmoid(x) }
    @_transparent static func derivative(_ x: Vec) -> Vec {
        let s = vsigmoid(x)
        return s * (1 + x * (1 - s))
    }
}

enum TanhKernel: ActivationKernel {
    @_transparent static func forward(_ x: Vec) -> Vec { vtanh(x) }
    @_transparent static func derivative(_ x: Vec) -> Vec {
        let t = vtanh(x)
        return 1 - t * t
    }
}

enum SigmoidKernel: ActivationKernel {
    @_transparent static func forward(_ x: Vec) -> Vec { vsigmoid(x) }
    @_transparent static func derivative(_ x: Vec) -> Vec {
        let s = vsigmoid(x)
        return s * (1 - s)
    }
}
