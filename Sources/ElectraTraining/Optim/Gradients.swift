import Electra

/// Each parameter object once, first occurrence first (a tied weight is one object).
func uniqueObjects(_ params: [Parameter]) -> [Parameter] {
    var seen = Set<ObjectIdentifier>()
    return params.filter { seen.insert(ObjectIdentifier($0)).inserted }
}

/// Gradient-buffer utilities (zeroing is `ParameterTable.zeroGradients()`). Every function works on unique parameter objects: a tied or
/// shared weight listed under several names is allocated, zeroed, scaled and counted in the
/// norm once. Parameters without a gradient buffer are skipped.
public enum Gradients {
    /// Multiplies every gradient by `factor`.
    public static func scale(_ params: [Parameter], by factor: Float) {
        if factor == 1 { return }
        let grads = uniqueObjects(params).compactMap(\.grad)
        let segs = FlatSegments(counts: grads.map(\.count))
        segs.parallelForEach { _, k, r in
            scaleInPlace(grads[k].pointer + r.lowerBound, r.count, factor)
        }
    }

    /// The L2 norm of all gradients taken together (as if concatenated into one vector).
    public static func globalNorm(_ params: [Parameter]) -> Float {
        let grads = uniqueObjects(params).compactMap(\.grad)
        let segs = FlatSegments(counts: grads.map(\.count))
        let slots = Parallel.threads  // one accumulator per chunk; chunks are capped to it
        var partial = [Double](repeating: 0, count: slots)
        partial.withUnsafeMutableBufferPointer { acc in
            let accBase = acc.baseAddress!
            segs.parallelForEach(maxChunks: slots) { chunk, k, r in
                accBase[chunk] += sumOfSquares(grads[k].pointer + r.lowerBound, r.count)
            }
        }
        return Float(partial.reduce(0, +).squareRoot())
    }

    /// Global-norm clipping with `torch.nn.utils.clip_grad_norm_` semantics: with
    /// `norm` the L2 norm of all gradients together, every gradient is multiplied by
    /// `maxNorm / (norm + epsilon)` when that is below 1. Returns `norm` (before clipping).
    /// `epsilon: 0` gives TensorFlow's `tf.clip_by_global_norm` (ELECTRA's original code):
    /// scale `maxNorm / max(norm, maxNorm)`. A non-finite norm is returned and nothing is
    /// scaled (the caller should stop: the gradients already hold NaN or inf).
    @discardableResult
    public static func clipGlobalNorm(_ params: [Parameter], maxNorm: Float, epsilon: Float = 1e-6) -> Float {
        precondition(maxNorm > 0 && epsilon >= 0, "clipGlobalNorm needs maxNorm > 0 and epsilon >= 0")
        let norm = globalNorm(params)
        guard norm.isFinite else { return norm }
        let coef = maxNorm / (norm + epsilon)
        if coef < 1 { scale(params, by: coef) }
        return norm
    }

    // Table overloads: the table's unique parameters.

    public static func scale(_ table: ParameterTable, by factor: Float) {
        scale(table.uniqueParameters.map(\.parameter), by: factor)
    }
    public static func globalNorm(_ table: ParameterTable) -> Float { globalNorm(table.uniqueParameters.map(\.parameter)) }
    @discardableResult
    public static func clipGlobalNorm(_ table: ParameterTable, maxNorm: Float, epsilon: Float = 1e-6) -> Float {
        clipGlobalNorm(table.uniqueParameters.map(\.parameter), maxNorm: maxNorm, epsilon: epsilon)
    }
}

/// Gradient accumulation over `steps` micro-batches. The backward passes must ADD into the
/// gradient buffers (as PyTorch's do); after the last micro-batch the sums are divided by
/// the number of micro-batches, so the optimizer sees the mean gradient, the same as one
/// large batch whose loss is the mean of the micro-batch losses.
///
///     for batch in batches {
///         backward(batch)                                  // grads += d loss_i
///         if accumulator.microBatchDone(table) {           // grads /= steps
///             Gradients.clipGlobalNorm(table, maxNorm: 1)
///             optimizer.step(learningRate: schedule.learningRate(at: optimizer.stepCount))
///             table.zeroGradients()
///         }
///     }
///     if accumulator.flush(table) { ... }                  // a partial group at the end
///
/// (Equivalently, scale each micro-batch's loss gradient by `lossScale` and skip the division;
/// then call `microBatchDone(_, scale: false)`.)
public struct GradientAccumulator: Sendable {
    public let steps: Int
    /// Micro-batches added since the last optimizer step.
    public private(set) var pending = 0

    public init(steps: Int) {
        precondition(steps >= 1, "gradient accumulation steps must be at least 1")
        self.steps = steps
    }

    /// 1 / steps: the factor to put on each micro-batch's loss if the caller scales the loss
    /// instead of the gradients.
    public var lossScale: Float { 1 / Float(steps) }

    /// Records one micro-batch. Returns true when `steps` micro-batches are in: the
    /// gradients were divided by `steps` (unless `scale` is false) and an optimizer step is
    /// due; the count restarts.
    public mutating func microBatchDone(_ params: [Parameter], scale: Bool = true) -> Bool {
        pending += 1
        guard pending == steps else { return false }
        if scale { Gradients.scale(params, by: 1 / Float(steps)) }
        pending = 0
        return true
    }

    public mutating func microBatchDone(_ table: ParameterTable, scale: Bool = true) -> Bool {
        microBatchDone(table.uniqueParameters.map(\.parameter), scale: scale)
    }

    /// Ends a partial group (end of data): when micro-batches are pending, rescales the
    /// gradients to the mean over the pending micro-batches (by 1 / pending, or by
    /// steps / pending when `scale` is false because the losses were scaled by `lossScale`),
    /// restarts the count and returns true (an optimizer step is due).
    public mutating func flush(_ params: [Parameter], scale: Bool = true) -> Bool {
        guard pending > 0 else { return false }
        Gradients.scale(params, by: scale ? 1 / Float(pending) : Float(steps) / Float(pending))
        pending = 0
        return true
    }

    public mutating func flush(_ table: ParameterTable, scale: Bool = true) -> Bool {
        flush(table.uniqueParameters.map(\.parameter), scale: scale)
    }
}
