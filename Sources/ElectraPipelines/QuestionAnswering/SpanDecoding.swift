/// HF's span search for extractive QA (transformers 4.57 `select_starts_ends` / `decode_spans`).
enum SpanDecoding {
    struct Span { var start: Int; var end: Int; var score: Float }

    /// Start/end probabilities over the tokens that may hold an answer (`allowed`: the
    /// context's tokens and [CLS]); others get logit -10000 before the softmax, as in HF.
    static func probabilities(_ logits: UnsafePointer<Float>, count: Int, allowed: [Bool]) -> [Float] {
        let masked = (0..<count).map { allowed[$0] ? logits[$0] : -10000 }
        return Scores.softmax(masked)
    }

    /// The best `k` spans start <= end < start + maxAnswerLength over allowed tokens, by
    /// start probability times end probability; position 0 ([CLS], the null answer) excluded.
    static func best(start: [Float], end: [Float], allowed: [Bool], k: Int, maxAnswerLength: Int) -> [Span] {
        var spans: [Span] = []
        for i in 1..<start.count where allowed[i] && start[i] > 0 {
            for j in i..<(i + min(start.count - i, maxAnswerLength)) where allowed[j] {
                let s = start[i] * end[j]
                if s > 0 { spans.append(Span(start: i, end: j, score: s)) }
            }
        }
        // Best first; ties in row-major order, as numpy's argsort over the flattened matrix.
        spans.sort { $0.score > $1.score || ($0.score == $1.score && ($0.start, $0.end) < ($1.start, $1.end)) }
        return Array(spans.prefix(k))
    }
}
