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
        for (i, y) in labels.prefix(n).enumerated() where y != ignoreIndex && !(y >= 0 && y < classes) {
            throw ElectraError("\(labelName)[\(i)] = \(y) is outside 0..<\(classes) (use \(ignoreIndex) to ignore a position)")
        }
        return softmaxCrossEntropy(logits: logits, rows: n, classes: classes, labels: labels, ignoreIndex: ignoreIndex,
                                   grad: grad, gradScale: gradScale)
    }

    /// BCEWithLogitsLoss over the selected elements.
    public static func binaryCrossEntropyWithLogits(
        logits: UnsafePointer<Float>, targets: [Float], include: [Bool]? = nil, grad: UnsafeMutablePointer<Float>? = nil
    ) -> Float {
        sigmoidBinaryCrossEntropy(logits: logits, targets: targets, include: include, grad: grad)
    }

    /// MSELoss: mean of squared differences.
    public static func meanSquaredError(
        _ predictions: UnsafePointer<Float>, _ targets: [Float], grad: UnsafeMutablePointer<Float>? = nil
    ) -> Float {
        ElectraKernels.meanSquaredError(predictions, targets, grad: grad)
    }
}
