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
