import Foundation

/// GLUE metrics. Accuracy and F1 (positive class 1) for classification, Matthews
/// correlation (CoLA), Pearson and Spearman correlation (STS-B style regression).
public enum ClassificationMetrics {
    public static func accuracy(predictions: [Int], labels: [Int]) -> Double {
        guard !labels.isEmpty else { return .nan }
        return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    /// Binary F1 with `positive` as the positive class (sklearn's f1_score default).
    public static func f1(predictions: [Int], labels: [Int], positive: Int = 1) -> Double {
        var tp = 0.0, fp = 0.0, fn = 0.0
        for (p, y) in zip(predictions, labels) {
            if p == positive && y == positive { tp += 1 } else if p == positive { fp += 1 } else if y == positive { fn += 1 }
        }
        return tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn)
    }

    /// Matthews correlation coefficient for any number of classes (sklearn's definition);
    /// 0 when undefined.
    public static func matthews(predictions: [Int], labels: [Int]) -> Double {
        let classes = (predictions + labels).max().map { $0 + 1 } ?? 0
        var c = [[Double]](repeating: [Double](repeating: 0, count: classes), count: classes)
        for (p, y) in zip(predictions, labels) { c[y][p] += 1 }
        let s = Double(labels.count)
        let correct = (0..<classes).reduce(0.0) { $0 + c[$1][$1] }
        let t = (0..<classes).map { k in c[k].reduce(0, +) }            // true counts
        let p = (0..<classes).map { k in c.reduce(0) { $0 + $1[k] } }   // predicted counts
        let cov = correct * s - zip(t, p).reduce(0) { $0 + $1.0 * $1.1 }
        let dp = s * s - p.reduce(0) { $0 + $1 * $1 }
        let dt = s * s - t.reduce(0) { $0 + $1 * $1 }
        let den = (dp * dt).squareRoot()
        return den == 0 ? 0 : cov / den
    }

    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        guard n > 1 else { return .nan }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        return sxx == 0 || syy == 0 ? .nan : sxy / (sxx * syy).squareRoot()
    }

    /// Spearman: Pearson of average ranks (ties share their mean rank, as scipy does).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double { pearson(ranks(x), ranks(y)) }

    static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var r = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = rank }
            i = j + 1
        }
        return r
    }
}
