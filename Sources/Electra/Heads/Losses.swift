import ElectraKernels
import Foundation

/// HF's loss definitions (torch.nn defaults: mean reduction). A batch whose labels are all
/// ignored gives NaN, as torch does.
public enum Losses {
    /// CrossEntropyLoss(ignore_index): logits [n, classes], labels [n].
    public static func crossEntropy(
        logits: UnsafePointer<Float>, rows n: Int, classes: Int, labels: [Int], ignoreIndex: Int = -100,
        labelName: String = "labels"
    ) throws -> Float {
        var total = 0.0
        var count = 0
        for i in 0..<n {
            let y = labels[i]
            if y == ignoreIndex { continue }
            guard y >= 0 && y < classes else {
                throw ElectraError("\(labelName)[\(i)] = \(y) is outside 0..<\(classes) (use \(ignoreIndex) to ignore a position)")
            }
            let row = logits + i * classes
            total += Double(logSumExp(row, classes) - row[y])
            count += 1
        }
        return Float(total / Double(count))
    }

    /// BCEWithLogitsLoss over the selected elements: mean of
    /// max(x, 0) - x y + log(1 + exp(-|x|)).
    public static func binaryCrossEntropyWithLogits(
        logits: UnsafePointer<Float>, targets: [Float], include: [Bool]? = nil
    ) -> Float {
        var total = 0.0
        var count = 0
        for i in 0..<targets.count where include?[i] ?? true {
            let x = Double(logits[i]), y = Double(targets[i])
            total += max(x, 0) - x * y + Foundation.log1p(Foundation.exp(-abs(x)))
            count += 1
        }
        return Float(total / Double(count))
    }

    /// MSELoss: mean of squared differences.
    public static func meanSquaredError(_ predictions: UnsafePointer<Float>, _ targets: [Float]) -> Float {
        var total = 0.0
        for i in 0..<targets.count {
            let d = Double(predictions[i]) - Double(targets[i])
            total += d * d
        }
        return Float(total / Double(targets.count))
    }
}

/// The same losses with their gradients (d loss / d logits), written into `grad`
/// (overwritten, same layout as the logits) and scaled by `scale` (e.g. 1/2 for QA's average).
extension Losses {
    public static func crossEntropyGradient(
        logits: UnsafePointer<Float>, rows n: Int, classes: Int, labels: [Int], ignoreIndex: Int = -100,
        scale: Float = 1, grad: UnsafeMutablePointer<Float>, labelName: String = "labels"
    ) throws -> Float {
        let loss = try crossEntropy(logits: logits, rows: n, classes: classes, labels: labels, ignoreIndex: ignoreIndex, labelName: labelName)
        let count = labels.filter { $0 != ignoreIndex }.count
        grad.initialize(repeating: 0, count: n * classes)
        guard count > 0 else { return loss }
        let w = scale / Float(count)
        for i in 0..<n where labels[i] != ignoreIndex {
            let row = logits + i * classes, g = grad + i * classes
            let lse = logSumExp(row, classes)
            for c in 0..<classes { g[c] = Foundation.exp(row[c] - lse) * w }
            g[labels[i]] -= w
        }
        return loss
    }

    public static func binaryCrossEntropyWithLogitsGradient(
        logits: UnsafePointer<Float>, targets: [Float], include: [Bool]? = nil, grad: UnsafeMutablePointer<Float>
    ) -> Float {
        let loss = binaryCrossEntropyWithLogits(logits: logits, targets: targets, include: include)
        let count = (0..<targets.count).filter { include?[$0] ?? true }.count
        for i in 0..<targets.count {
            let on = include?[i] ?? true
            grad[i] = on ? (1 / (1 + Foundation.exp(-logits[i])) - targets[i]) / Float(count) : 0
        }
        return loss
    }

    public static func meanSquaredErrorGradient(
        _ predictions: UnsafePointer<Float>, _ targets: [Float], grad: UnsafeMutablePointer<Float>
    ) -> Float {
        for i in 0..<targets.count { grad[i] = 2 * (predictions[i] - targets[i]) / Float(targets.count) }
        return meanSquaredError(predictions, targets)
    }
}
