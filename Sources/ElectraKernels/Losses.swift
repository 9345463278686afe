import Foundation

// Loss loops over logits (labels already validated by the caller). Each returns the mean
// loss (summed in Double) and optionally writes d mean-loss / d logits into `grad`
// (overwritten, the logits' layout, times `gradScale` where it is a parameter).

/// Softmax cross-entropy: logits [n, classes], labels [n] (rows labelled `ignoreIndex` skipped).
/// Returns the mean over the rows used (NaN when none, as torch gives). `grad` may be the
/// logits' own buffer (the gradient then replaces them, saving a [n, classes] buffer: the
/// generator's vocabulary-wide logits). Rows run in parallel, exponentials vectorised.
public func softmaxCrossEntropy(
    logits: UnsafePointer<Float>, rows n: Int, classes: Int, labels: [Int], ignoreIndex: Int,
    grad: UnsafeMutablePointer<Float>?, gradScale: Float = 1
) -> Float {
    let count = labels.prefix(n).reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    let w = count > 0 ? gradScale / Float(count) : 0
    let losses = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
    defer { losses.deallocate() }
    Parallel.forRanges(n, minChunk: max(1, 32768 / max(classes, 1))) { _, r in
        for i in r {
            let row = logits + i * classes
            guard labels[i] != ignoreIndex else {
                losses[i] = 0
                grad.map { ($0 + i * classes).update(repeating: 0, count: classes) }
                continue
            }
            let target = row[labels[i]]
            if let grad {
                let g = grad + i * classes
                let m = vmaxElement(row, classes)
                if g != UnsafeMutablePointer(mutating: row) { g.update(from: row, count: classes) }
                let s = expShiftedRow(g, classes)
                losses[i] = m + log(s) - target
                scaleRow(g, classes, by: w / s)
                g[labels[i]] -= w
            } else {
                losses[i] = logSumExp(row, classes) - target
            }
        }
    }
    var total = 0.0
    for i in 0..<n where labels[i] != ignoreIndex { total += Double(losses[i]) }
    return Float(total / Double(count))
}

/// Each row's cross-entropy (-log softmax at its label) and whether its first largest logit is
/// the label, with no gradient: scores predictions per row, so a caller can average them over
/// the rows it chooses (masked-LM metrics on [MASK]ed positions only). Rows run in parallel.
public func rowCrossEntropyAndHits(
    logits: UnsafePointer<Float>, rows n: Int, classes: Int, labels: [Int]
) -> (losses: [Float], hits: [Bool]) {
    var losses = [Float](repeating: 0, count: n), hits = [Bool](repeating: false, count: n)
    losses.withUnsafeMutableBufferPointer { lp in
        hits.withUnsafeMutableBufferPointer { hp in
            let (lp, hp) = (lp.baseAddress!, hp.baseAddress!)
            Parallel.forRanges(n, minChunk: max(1, 32768 / max(classes, 1))) { _, r in
                for i in r {
                    let row = logits + i * classes
                    lp[i] = logSumExp(row, classes) - row[labels[i]]
                    hp[i] = argmaxRow(row, classes) == labels[i]
                }
            }
        }
    }
    return (losses, hits)
}

/// Sigmoid binary cross-entropy (BCEWithLogits) over the elements `include` selects (all
/// when nil): mean of max(x, 0) - x y + log(1 + exp(-|x|)).
public func sigmoidBinaryCrossEntropy(
    logits: UnsafePointer<Float>, targets: [Float], include: [Bool]?, grad: UnsafeMutablePointer<Float>?
) -> Float {
    var total = 0.0
    var count = 0
    for i in 0..<targets.count where include?[i] ?? true {
        let x = Double(logits[i]), y = Double(targets[i])
        total += max(x, 0) - x * y + Foundation.log1p(Foundation.exp(-abs(x)))
        count += 1
    }
    if let grad {
        for i in 0..<targets.count {
            let on = include?[i] ?? true
            grad[i] = on ? (1 / (1 + Foundation.exp(-logits[i])) - targets[i]) / Float(count) : 0
        }
    }
    return Float(total / Double(count))
}

/// Mean squared error of predictions [n] against targets [n].
public func meanSquaredError(_ predictions: UnsafePointer<Float>, _ targets: [Float], grad: UnsafeMutablePointer<Float>?) -> Float {
    var total = 0.0
    for i in 0..<targets.count {
        let d = Double(predictions[i]) - Double(targets[i])
        total += d * d
        grad?[i] = 2 * (predictions[i] - targets[i]) / Float(targets.count)
    }
    return Float(total / Double(targets.count))
}
