import Foundation

// Loss loops over logits (labels already validated by the caller). Each returns the mean
// loss (summed in Double) and optionally writes d mean-loss / d logits into `grad`
// (overwritten, the logits' layout, times `gradScale` where it is a parameter).

/// Softmax cross-entropy: logits [n, classes], labels [n] (rows labelled `ignoreIndex` skipped).
/// Returns the mean over the rows used (NaN when none, as torch gives).
public func softmaxCrossEntropy(
    logits: UnsafePointer<Float>, rows n: Int, classes: Int, labels: [Int], ignoreIndex: Int,
    grad: UnsafeMutablePointer<Float>?, gradScale: Float = 1
) -> Float {
    var total = 0.0
    var count = 0
    var lse = [Float](repeating: 0, count: grad == nil ? 0 : n)
    for i in 0..<n where labels[i] != ignoreIndex {
        let row = logits + i * classes
        let l = logSumExp(row, classes)
        if grad != nil { lse[i] = l }
        total += Double(l - row[labels[i]])
        count += 1
    }
    if let grad {
        grad.initialize(repeating: 0, count: n * classes)
        let w = gradScale / Float(count)
        for i in 0..<n where count > 0 && labels[i] != ignoreIndex {
            let row = logits + i * classes, g = grad + i * classes
            for c in 0..<classes { g[c] = Foundation.exp(row[c] - lse[i]) * w }
            g[labels[i]] -= w
        }
    }
    return Float(total / Double(count))
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
