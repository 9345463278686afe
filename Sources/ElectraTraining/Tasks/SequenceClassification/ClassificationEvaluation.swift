import Electra
import Foundation

/// Predictions and GLUE metrics of a sequence classifier over an encoded set.
public enum ClassificationEvaluation {
    public struct Result: Sendable {
        public var metrics: [String: Double]
        public var predictions: [Int]
        public var scores: [Float]  // regression outputs, or the probability of the predicted class
    }

    public static func run(_ model: ElectraForSequenceClassification, _ data: EncodedClassificationSet,
                           batchSize: Int, padId: Int) throws -> Result {
        let C = model.config.numLabels
        var lossSum = 0.0
        var start = 0
        // Sort by length so batches pad little; restore order afterwards.
        let order = (0..<data.count).sorted { data.ids[$0].count < data.ids[$1].count }
        var byIndex = [(Int, Float)](repeating: (0, 0), count: data.count)
        while start < data.count {
            let idx = order[start..<min(start + batchSize, data.count)]
            let out = try model(data.batch(idx, padId: padId), options: ForwardOptions())
            lossSum += Double(out.loss ?? 0) * Double(idx.count)
            let logits = out.logits!
            for (row, i) in idx.enumerated() {
                let r = logits.pointer + row * C
                if data.isRegression {
                    byIndex[i] = (0, r[0])
                } else {
                    var best = 0
                    for c in 1..<C where r[c] > r[best] { best = c }
                    var z: Float = 0
                    for c in 0..<C { z += Foundation.exp(r[c] - r[best]) }
                    byIndex[i] = (best, 1 / z)
                }
            }
            start += batchSize
        }
        let preds = byIndex.map(\.0)
        let scores = byIndex.map(\.1)
        var m: [String: Double] = ["loss": lossSum / Double(max(data.count, 1))]
        if data.isRegression {
            let x = scores.map(Double.init), y = data.targets.map(Double.init)
            m["pearson"] = ClassificationMetrics.pearson(x, y)
            m["spearman"] = ClassificationMetrics.spearman(x, y)
        } else {
            m["accuracy"] = ClassificationMetrics.accuracy(predictions: preds, labels: data.labels)
            m["matthews"] = ClassificationMetrics.matthews(predictions: preds, labels: data.labels)
            if C == 2 { m["f1"] = ClassificationMetrics.f1(predictions: preds, labels: data.labels) }
        }
        return Result(metrics: m, predictions: preds, scores: scores)
    }
}
