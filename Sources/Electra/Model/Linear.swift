import ElectraKernels

/// HF `nn.Linear`: weight [out, in], bias [out].
public struct Linear: Sendable {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int
    public let outFeatures: Int
    /// The copy of `weight` the forward uses when the inference layout is on: 16-output
    /// panels on AVX-512 CPUs (PanelGemm, for up to 48 rows), else [in, out].
    let packed: DerivedWeight<Tensor>
    /// The int8 copy the forward uses when the inference dtype is int8 (Quantization.swift).
    let int8: DerivedWeight<QuantizedWeight>
    /// The bf16 copy forward and backward use when the dtype is bf16 (BF16.swift).
    let bf16: DerivedWeight<BF16Weight>

    public init(weight: Parameter, bias: Parameter?, inFeatures: Int, outFeatures: Int) {
        self.init(weight: weight, bias: bias, inFeatures: inFeatures, outFeatures: outFeatures, sources: [weight])
    }

    /// `sources`: the parameters whose values make up `weight` (its parts when it is a fused
    /// block whose HF-named parts are what optimizers update).
    init(weight: Parameter, bias: Parameter?, inFeatures: Int, outFeatures: Int, sources: [Parameter]) {
        self.weight = weight
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        packed = DerivedWeight(sources: sources)
        int8 = DerivedWeight(sources: sources)
        bf16 = DerivedWeight(sources: sources)
    }

    /// Builds or refreshes the bf16 copy (DerivedWeight hands back the previous one).
    fileprivate func bf16Copy(_ old: BF16Weight?) -> BF16Weight {
        old?.refill(from: weight.pointer) ?? BF16Weight(weight: weight.pointer, rows: outFeatures, columns: inFeatures)
    }

    /// y: [rows, out] = x: [rows, in] · W^T + b.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int) {
        if let q = int8.current({ _ in QuantizedWeight(weight: weight.pointer, rows: outFeatures, columns: inFeatures) }) {
            q.forward(y, x, rows: rows, bias: bias.map { UnsafePointer($0.pointer) })
            return
        }
        if let w = bf16.current(bf16Copy) {
            w.forward(y, x, rows: rows, bias: bias.map { UnsafePointer($0.pointer) })
            return
        }
        if PanelGemm.enabled {
            if rows <= PanelGemm.maxRows, let panels = packed.current({ old in
                let t = old ?? Tensor(zeros: [PanelGemm.count(rows: outFeatures, columns: inFeatures)])
                PanelGemm.pack(weight.pointer, rows: outFeatures, columns: inFeatures, into: t.pointer)
                return t
            }) {
                PanelGemm.forward(y, x, panels: panels.pointer, bias: bias?.pointer, rows: rows,
                                  inFeatures: inFeatures, outFeatures: outFeatures)
                return
            }
        } else if let wt = packed.current({ old in
            let t = old ?? Tensor(zeros: [inFeatures, outFeatures])
            transpose(weight.pointer, rows: outFeatures, columns: inFeatures, into: t.pointer)
            return t
        }) {
            linearForwardTransposed(y, x, weightTransposed: wt.pointer, bias: bias?.pointer,
                                    rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
            return
        }
        linearForward(y, x, weight: weight.pointer, bias: bias?.pointer,
                      rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    }
}

extension Linear {
    /// y = activation(x) · Wᵀ + b in bf16 when the dtype is bf16 (BF16Weight's fused form;
    /// x, the pre-activation, may be overwritten); false, with nothing done, otherwise.
    func forward(_ y: UnsafeMutablePointer<Float>, activating x: UnsafeMutablePointer<Float>, _ activation: Activation,
                 rows: Int) -> Bool {
        guard let w = bf16.current(bf16Copy) else { return false }
        w.forward(y, activating: x, activation, rows: rows, bias: bias.map { UnsafePointer($0.pointer) })
        return true
    }

    /// One Linear computing the concatenation of `parts`' outputs (all of one input width,
    /// all with or all without bias). Each part's weight and bias move into the shared
    /// [Σout, in] block and become views of it: the parts stay the HF-named parameters that
    /// loading, saving and the optimizer see, and the block can never disagree with them.
    static func concatenating(_ parts: [Linear]) -> Linear {
        let inFeatures = parts[0].inFeatures
        precondition(parts.allSatisfy { $0.inFeatures == inFeatures && ($0.bias == nil) == (parts[0].bias == nil) })
        let outFeatures = parts.reduce(0) { $0 + $1.outFeatures }
        let weight = Tensor(zeros: [outFeatures, inFeatures])
        let bias = parts[0].bias == nil ? nil : Tensor(zeros: [outFeatures])
        var row = 0
        for part in parts {
            move(part.weight, into: weight, offset: row * inFeatures)
            if let b = part.bias, let bias { move(b, into: bias, offset: row) }
            row += part.outFeatures
        }
        return Linear(weight: Parameter(weight, role: .linearWeight), bias: bias.map { Parameter($0, role: .bias) },
                      inFeatures: inFeatures, outFeatures: outFeatures, sources: parts.map(\.weight))
    }

    private static func move(_ p: Parameter, into block: Tensor, offset: Int) {
        let view = Tensor(shape: p.shape, storage: block.storage, offset: block.offset + offset)
        view.pointer.update(from: p.pointer, count: p.value.count)
        p.value = view
    }

    /// dx[rows,in] = dy · W (+= when `accumulate`, skipped when nil); weight/bias grads +=.
    public func backward(
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool = false, dy: UnsafePointer<Float>,
        x: UnsafePointer<Float>, rows: Int
    ) {
        // Mixed precision (the model set to bf16): the products of the backward in bf16 too,
        // the gradients accumulated in fp32 into the fp32 master weights' gradients.
        if let w = bf16.current(bf16Copy) {
            w.backward(dx: dx, accumulate: accumulate, dWeight: weight.gradPointer, dBias: bias?.gradPointer,
                       dy: dy, x: x, rows: rows)
            return
        }
        linearBackward(dx: dx, accumulate: accumulate, dWeight: weight.gradPointer, dBias: bias?.gradPointer,
                       dy: dy, x: x, weight: weight.pointer, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    }
}

/// HF `nn.LayerNorm`: weight (gamma) and bias (beta) of the normalised width.
public struct LayerNormWeights: Sendable {
    public let gamma: Parameter
    public let beta: Parameter
    public let eps: Float

    /// out: [rows, n] = LN(x (+ residual)); mean/rstd: [rows] saved for backward when given.
    public func forward(
        _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, residual: UnsafePointer<Float>? = nil,
        rows: Int, mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil
    ) {
        layerNormForward(out, x, residual: residual, gamma: gamma.pointer, beta: beta.pointer,
                         rows: rows, columns: gamma.value.count, eps: eps, mean: mean, rstd: rstd)
    }
}

extension LayerNormWeights {
    /// dx = LN backward at input (+ residual) with the kept mean/rstd; gamma/beta grads +=.
    public func backward(
        dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, input: UnsafePointer<Float>,
        residual: UnsafePointer<Float>?, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int
    ) {
        layerNormBackward(dx: dx, dGamma: gamma.gradPointer, dBeta: beta.gradPointer, dy: dy, input: input,
                          residual: residual, gamma: gamma.pointer, mean: mean, rstd: rstd,
                          rows: rows, columns: gamma.value.count)
    }
}
