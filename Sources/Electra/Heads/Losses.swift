import ElectraKernels
import Foundation

/// HF's loss definitions (torch.nn defaults: mean reduction). A batch whose labels are all
/// ignored gives NaN, as torch does. Each loss optionally writes d loss / d logits into
/// `grad` (overwritten, the logits' layout, times `gradScale`), so inference and training
/// share one definition.
public enum Losses {
    /// CrossEntropyLoss(ignore_index): logits [n, classes], labels [n].
    public static func crossEntropy(
        logits: UnsafePointer<Float>, rows n: Int, classes: Int, labels: [Int], ignoreIndex: Int = -100,
        labelName: String = "labels", grad: UnsafeMutablePointer<Float>? = nil, gradScale: Float = 1
    ) throws -> Float {
        var total = 0.0
        var count = 0
        var lse = [Float](repeating: 0, count: grad == nil ? 0 : n)
        for i in 0..<n {
            let y = labels[i]
            if y == ignoreIndex { continue }
            guard y >= 0 && y < classes else {
                throw ElectraError("\(labelName)[\(i)] = \(y) is outside 0..<\(classes) (use \(ignoreIndex) to ignore a position)")
            }
            let row = logits + i * classes
            let l = logSumExp(row, classes)
            if grad != nil { lse[i] = l }
            total += Double(l - row[y])
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

    /// BCEWithLogitsLoss over the selected elements: mean of
    /// max(x, 0) - x y + log(1 + exp(-|x|)).
    public static func binaryCrossEntropyWithLogits(
        logits: UnsafePointer<Float>, targets: [Float], include: [Bool]? = nil, grad: UnsafeMutablePointer<Float>? = nil
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

    /// MSELoss: mean of squared differences.
    public static func meanSquaredError(
        _ predictions: UnsafePointer<Float>, _ targets: [Float], grad: UnsafeMutablePointer<Float>? = nil
    ) -> Float {
        var total = 0.0
        for i in 0..<targets.count {
            let d = Double(predictions[i]) - Double(targets[i])
            total += d * d
            grad?[i] = 2 * (predictions[i] - targets[i]) / Float(targets.count)
        }
        return Float(total / Double(targets.count))
    }
}
