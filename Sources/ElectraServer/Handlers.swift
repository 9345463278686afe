import Electra
import ElectraPipelines
import ElectraTokenizers
import Foundation

/// The routes' work, from a parsed request to a JSON value: TEI's API and ELECTRA's own tasks.
/// Every forward runs through the batch scheduler; fill-mask, token classification and QA use
/// their pipelines' plans (tokenize into windows here, read the logits after the batch).
struct Handlers: Sendable {
    let served: ServedModel
    let scheduler: BatchScheduler
    let config: ServerConfiguration

    struct Output {
        var json: Any
        /// Tokens and characters computed (for TEI's x-compute-* headers and /v1 usage).
        var tokens = 0
        var characters = 0
    }

    var maxLength: Int { served.maxInputLength }

    /// One text (or pair) as the model reads it; an error when too long and not truncated.
    func encode(_ text: String, pair: String? = nil, truncate: Bool, left: Bool, field: String = "inputs") throws -> Encoding {
        // A pair is [CLS] a [SEP] b [SEP] even when both are empty (a rerank of "" and ""); a
        // single empty text is TEI's "Empty input".
        if text.isEmpty && pair == nil { throw APIError.empty("`\(field)` cannot be empty") }
        var tok = served.tokenizer
        if truncate {
            try tok.setTruncation(TruncationOptions(maxLength: maxLength, strategy: .longestFirst, direction: left ? .left : .right))
        }
        var e = try tok.encode(text, pair: pair)
        e.overflowing = []
        if e.count > maxLength {
            throw APIError.validation("`\(field)` must have less than \(maxLength) tokens. Given: \(e.count)")
        }
        return e
    }

    func checkBatch(_ n: Int, field: String = "inputs") throws {
        guard n > 0 else { throw APIError.empty("`\(field)` cannot be empty") }
        guard n <= config.maxClientBatchSize else {
            throw APIError.validation("batch size \(n) > maximum allowed batch size \(config.maxClientBatchSize)")
        }
    }

    func truncation(_ r: JSONRequest) throws -> (Bool, Bool) {
        (try r.bool("truncate", default: config.autoTruncate), try r.truncationDirection())
    }

    // MARK: TEI

    func embed(_ r: JSONRequest, all: Bool) async throws -> Output {
        let (texts, _) = try r.texts("inputs")
        try checkBatch(texts.count)
        let (truncate, left) = try truncation(r)
        let normalize = try r.bool("normalize", default: true)
        let dimensions = try r.int("dimensions")
        if let d = dimensions {
            // TEI's messages; 422 (a field's value, as TEI 1.9+ answers Validation errors).
            guard d > 0 else { throw APIError.field("`dimensions` should be positive") }
            guard d <= served.model.config.hiddenSize else { throw APIError.field("`dimensions` should be smaller than the maximum embedding dimension.") }
        }
        let encodings = try texts.map { try encode($0, truncate: truncate, left: left) }
        let rows = try await scheduler.run(encodings, kind: .hidden)
        let tokens = encodings.reduce(0) { $0 + $1.count }, chars = texts.reduce(0) { $0 + $1.count }
        if all {
            return Output(json: rows.map { r in (0..<r.tokens).map { t in Array(r.values[(t * r.width)..<((t + 1) * r.width)]).map(Double.init) } },
                          tokens: tokens, characters: chars)
        }
        return Output(json: rows.map { pooled($0, normalize: normalize, dimensions: dimensions).map(Double.init) }, tokens: tokens, characters: chars)
    }

    func pooled(_ r: BatchScheduler.Rows, normalize: Bool, dimensions: Int?) -> [Float] {
        let pooling: SentenceEmbeddingPipeline.Pooling = config.pooling == "cls" ? .cls : .mean
        // Matryoshka `dimensions`: cut first, then normalise (TEI's order).
        var v = r.values.withUnsafeBufferPointer { SentenceEmbeddingPipeline.pool($0, width: r.width, pooling: pooling, normalize: dimensions == nil && normalize) }
        if let d = dimensions {
            v = Array(v.prefix(d))
            if normalize { v = v.withUnsafeBufferPointer { SentenceEmbeddingPipeline.pool($0, width: d, pooling: .cls, normalize: true) } }
        }
        return v
    }

    func openAIEmbeddings(_ r: JSONRequest) async throws -> Output {
        guard r.has("input") else { throw APIError.field("missing field `input`") }
        let (texts, _) = try r.texts("input")
        try checkBatch(texts.count, field: "input")
        let format = try r.string("encoding_format") ?? "float"
        guard format == "float" || format == "base64" else { throw APIError.field("`encoding_format` must be float or base64, got '\(format)'") }
        let dimensions = try r.int("dimensions")
        if let d = dimensions, !(1...served.model.config.hiddenSize).contains(d) { throw APIError.field("`dimensions` must be in 1...\(served.model.config.hiddenSize)") }
        _ = try r.string("user")  // unused, but a wrong type is still an error
        _ = try r.string("model")
        let encodings = try texts.map { try encode($0, truncate: config.autoTruncate, left: false, field: "input") }
        let rows = try await scheduler.run(encodings, kind: .hidden)
        let tokens = encodings.reduce(0) { $0 + $1.count }
        let data: [[String: Any]] = rows.enumerated().map { i, row in
            let v = pooled(row, normalize: true, dimensions: dimensions)
            let embedding: Any = format == "base64" ? v.withUnsafeBytes { Data($0).base64EncodedString() } : v.map(Double.init)
            return ["object": "embedding", "embedding": embedding, "index": i]
        }
        return Output(json: ["object": "list", "data": data, "model": config.modelID, "usage": ["prompt_tokens": tokens, "total_tokens": tokens]],
                      tokens: tokens, characters: texts.reduce(0) { $0 + $1.count })
    }

    /// TEI's `inputs` for /predict: "text", ["a", "b"] (a pair), ["a"], or a batch [["a"], ["b", "c"]].
    func predictInputs(_ r: JSONRequest) throws -> (items: [(String, String?)], batch: Bool) {
        guard r.has("inputs") else { throw APIError.field("missing field `inputs`") }
        let v = r.fields["inputs"]!
        if let s = v as? String { return ([(s, nil)], false) }
        guard let list = v as? [Any], !list.isEmpty else { throw APIError.field("`inputs` must be a string, a pair [a, b], or a batch of [text] or [text, pair] lists") }
        if list.allSatisfy({ $0 is String }) {
            guard list.count <= 2 else { throw APIError.field("`inputs` as a list of strings is one text or one pair; a batch is a list of lists") }
            let s = list as! [String]
            return ([(s[0], s.count > 1 ? s[1] : nil)], false)
        }
        var items: [(String, String?)] = []
        for (i, x) in list.enumerated() {
            guard let pair = x as? [Any], (1...2).contains(pair.count), pair.allSatisfy({ $0 is String }) else {
                throw APIError.field("`inputs[\(i)]` must be [text] or [text, pair]")
            }
            let s = pair as! [String]
            items.append((s[0], s.count > 1 ? s[1] : nil))
        }
        return (items, true)
    }

    func predict(_ r: JSONRequest) async throws -> Output {
        guard served.classifier != nil else { throw APIError.backend("Model is not a classifier model") }
        let (items, batch) = try predictInputs(r)
        try checkBatch(items.count)
        let (truncate, left) = try truncation(r)
        let raw = try r.bool("raw_scores", default: false)
        let encodings = try items.map { try encode($0.0, pair: $0.1, truncate: truncate, left: left) }
        let rows = try await scheduler.run(encodings, kind: .head)
        let c = served.model.config
        let results: [[[String: Any]]] = try rows.map { row in
            let z = row.values
            guard z.allSatisfy(\.isFinite) else { throw APIError.backend("score is NaN") }
            let scores = raw ? z : z.count == 1 ? [Scores.sigmoid(z[0])] : Scores.softmax(z)
            return Scores.descending(scores).map { ["score": Double(scores[$0]), "label": c.id2label[$0] ?? "LABEL_\($0)"] }
        }
        return Output(json: batch ? results : results[0], tokens: encodings.reduce(0) { $0 + $1.count },
                      characters: items.reduce(0) { $0 + $1.0.count + ($1.1?.count ?? 0) })
    }

    func rerank(_ r: JSONRequest) async throws -> Output {
        let query = try r.requiredString("query")
        guard let texts = try r.strings("texts") else { throw APIError.field("missing field `texts`") }
        guard !texts.isEmpty else { throw APIError.empty("`texts` cannot be empty") }
        guard served.isReranker else { throw APIError.backend("model is not a re-ranker model") }
        try checkBatch(texts.count)
        let (truncate, left) = try truncation(r)
        let raw = try r.bool("raw_scores", default: false), returnText = try r.bool("return_text", default: false)
        let encodings = try texts.map { try encode(query, pair: $0, truncate: truncate, left: left) }
        let rows = try await scheduler.run(encodings, kind: .head)
        let scores = try rows.map { row -> Float in
            guard row.values[0].isFinite else { throw APIError.backend("score is NaN") }
            return raw ? row.values[0] : Scores.sigmoid(row.values[0])
        }
        let ranked: [OrderedObject] = Scores.descending(scores).map { i in
            var o = OrderedObject([("index", i)])
            if returnText { o.append("text", texts[i]) }
            o.append("score", Double(scores[i]))
            return o
        }
        return Output(json: ranked, tokens: encodings.reduce(0) { $0 + $1.count }, characters: query.count * texts.count + texts.reduce(0) { $0 + $1.count })
    }

    func tokenize(_ r: JSONRequest) throws -> Output {
        let (texts, _) = try r.texts("inputs")
        try checkBatch(texts.count)
        let special = try r.bool("add_special_tokens", default: true)
        let tok = served.tokenizer
        let result: [[OrderedObject]] = try texts.map { text in
            if text.isEmpty { throw APIError.empty("`inputs` cannot be empty") }
            let e = try tok.encode(text, addSpecialTokens: special)
            let bytes = Array(text.utf8)
            return e.ids.indices.map { i in
                let isSpecial = e.specialTokensMask.isEmpty ? false : e.specialTokensMask[i] == 1
                let span = e.byteOffsets[i]
                let piece = isSpecial ? (tok.idToToken(e.ids[i]) ?? "") : String(decoding: bytes[span.lowerBound..<min(span.upperBound, bytes.count)], as: UTF8.self)
                return OrderedObject([("id", e.ids[i]), ("text", piece), ("special", isSpecial),
                                      ("start", isSpecial ? NSNull() : span.lowerBound as Any), ("stop", isSpecial ? NSNull() : span.upperBound as Any)])
            }
        }
        return Output(json: result)
    }

    func decode(_ r: JSONRequest) throws -> Output {
        guard r.has("ids") else { throw APIError.field("missing field `ids`") }
        let skip = try r.bool("skip_special_tokens", default: true)
        func ids(_ v: Any, _ path: String) throws -> [Int] {
            // TEI's ids are u32.
            guard let list = v as? [Any], list.allSatisfy({ ($0 as? NSNumber).map { JSONRequest.isInteger($0) && $0.intValue >= 0 && $0.intValue <= Int(UInt32.max) } ?? false }) else {
                throw APIError.field("`\(path)` must be a list of token ids")
            }
            return list.map { ($0 as! NSNumber).intValue }
        }
        let v = r.fields["ids"]!
        let batch: [[Int]]
        if let outer = v as? [Any], let first = outer.first, first is [Any] {
            batch = try outer.enumerated().map { try ids($1, "ids[\($0)]") }
        } else {
            batch = [try ids(v, "ids")]
        }
        try checkBatch(batch.count)
        for b in batch where b.isEmpty { throw APIError.empty("`input_ids` cannot be empty") }
        return Output(json: batch.map { served.tokenizer.decode($0, skipSpecialTokens: skip) })
    }

    func info() -> Output {
        let c = served.model.config
        let labels = (c.id2label.sorted { $0.key < $1.key }).map { ("\($0.key)", $0.value) }
        let id2label = Dictionary(uniqueKeysWithValues: labels)
        let label2id = Dictionary(uniqueKeysWithValues: c.label2id.map { ($0.key, $0.value) })
        let modelType: [String: Any] = served.classifier == nil ? ["embedding": ["pooling": config.pooling]]
            : [served.isReranker ? "reranker" : "classifier": ["id2label": id2label, "label2id": label2id]]
        let info = OrderedObject([
            ("model_id", config.modelID), ("model_sha", NSNull()), ("model_dtype", config.dtype.rawValue),
            ("served_model_name", config.modelID), ("model_type", modelType),
            ("max_concurrent_requests", config.maxConcurrentRequests), ("max_input_length", maxLength),
            ("max_batch_tokens", config.maxBatchTokens), ("max_batch_requests", config.maxBatchRequests.map { $0 as Any } ?? NSNull()),
            ("max_client_batch_size", config.maxClientBatchSize), ("auto_truncate", config.autoTruncate),
            ("tokenization_workers", ProcessInfo.processInfo.activeProcessorCount), ("version", "electra-swift 1.0"),
            ("sha", NSNull()), ("docker_label", NSNull()),
            ("architecture", c.architectures?.first ?? "ElectraModel"), ("routes", served.routes),
        ])
        return Output(json: info)
    }

    // MARK: ELECTRA's own tasks

    func detect(_ r: JSONRequest) async throws -> Output {
        guard served.detector != nil else { throw APIError.backend("Model is not a discriminator (ElectraForPreTraining)") }
        let (texts, single) = try r.texts("inputs")
        try checkBatch(texts.count)
        let t = try number(r, "threshold") ?? 0.5
        // (0, 1]: a JSON number just below 1 may parse as 1.0; the clamp below keeps it < 1.
        guard t > 0 && t <= 1 else { throw APIError.field("`threshold` must be in (0, 1]") }
        // Checked in double precision; a value next to 0 or 1 still separates something in fp32.
        let threshold = min(max(Float(t), Float.leastNonzeroMagnitude), 1 - Float.ulpOfOne / 2)
        let tok = served.tokenizer, window = maxLength - 2
        var windows: [Encoding] = [], origin: [(Int, Int)] = [], encoded: [Encoding] = []
        for (t, text) in texts.enumerated() {
            // "" is TEI's Empty input; a text the tokenizer reduces to nothing (control
            // characters only) is answered with no tokens.
            if text.isEmpty { throw APIError.empty("`inputs` cannot be empty") }
            let e = try tok.encode(text, addSpecialTokens: false)
            encoded.append(e)
            for first in stride(from: 0, to: e.count, by: window) {
                let ids = [tok.clsTokenId] + e.ids[first..<min(first + window, e.count)] + [tok.sepTokenId]
                windows.append(Encoding(ids: ids, typeIds: ids.map { _ in 0 }, attentionMask: ids.map { _ in 1 }))
                origin.append((t, first))
            }
        }
        let rows = try await scheduler.run(windows, kind: .head)
        var probabilities = encoded.map { [Float](repeating: 0, count: $0.count) }
        for (k, row) in rows.enumerated() {
            for j in 0..<(row.tokens - 2) { probabilities[origin[k].0][origin[k].1 + j] = Scores.sigmoid(row.values[1 + j]) }
        }
        let results = texts.indices.map { ReplacedTokenDetectionPipeline.result(texts[$0], encoded[$0], probabilities[$0], tokenizer: tok).json(threshold: threshold) }
        return Output(json: RawJSON(single ? results[0] : .array(results)), tokens: windows.reduce(0) { $0 + $1.count })
    }

    func fillMask(_ r: JSONRequest) async throws -> Output {
        guard let p = served.filler else { throw APIError.backend("Model is not a generator (ElectraForMaskedLM)") }
        let (texts, single) = try r.texts("inputs")
        try checkBatch(texts.count)
        let topK = try r.int("top_k") ?? 5
        guard topK > 0 else { throw APIError.field("`top_k` must be at least 1") }
        let targets = try r.strings("targets")
        if let targets, targets.isEmpty { throw APIError.field("`targets` must name at least one token") }
        if let targets, targets.contains("") { throw APIError.field("`targets` holds an empty string, which names no token") }
        let plan = try pipelineCall { try p.plan(texts, topK: topK, targets: targets) }
        let rows = try await scheduler.run(plan.windows, kind: .head, positions: plan.positions)
        let results = try pipelineCall {
            try rows.indices.map { w in
                try rows[w].values.withUnsafeBufferPointer { z in
                    try p.candidates(plan, window: w) { j in UnsafeBufferPointer(rebasing: z[(j * rows[w].width)..<((j + 1) * rows[w].width)]) }
                }
            }
        }
        return Output(json: RawJSON(FillMaskPipeline.json(results, singleInput: single)), tokens: plan.windows.reduce(0) { $0 + $1.count })
    }

    func tokenClassification(_ r: JSONRequest) async throws -> Output {
        guard let p = served.tagger else { throw APIError.backend("Model is not a token classifier (ElectraForTokenClassification)") }
        let (texts, single) = try r.texts("inputs")
        try checkBatch(texts.count)
        let name = try r.string("aggregation_strategy") ?? "none"
        guard let strategy = AggregationStrategy(rawValue: name.lowercased()) else {
            throw APIError.field("`aggregation_strategy` must be one of none, simple, first, average, max; got '\(name)'")
        }
        let ignore = try r.strings("ignore_labels") ?? ["O"]
        let stride = try r.int("stride")
        let truncate = try r.bool("truncate", default: config.autoTruncate)
        if let stride, !(0..<(maxLength - 2)).contains(stride) { throw APIError.field("`stride` must be in 0..<\(maxLength - 2), got \(stride)") }
        if stride != nil && strategy == .none { throw APIError.field("`stride` needs an `aggregation_strategy` other than none (as in HF)") }
        for t in texts where t.isEmpty { throw APIError.empty("`inputs` cannot be empty") }
        // Without a stride the pipeline cuts a long text at the model's positions (as HF's):
        // only when the request (or --auto-truncate) allows it, as on the other routes.
        if stride == nil, !truncate {
            for t in texts { _ = try encode(t, truncate: false, left: false) }
        }
        let plan = try pipelineCall { try p.plan(texts, aggregation: strategy, ignoreLabels: ignore, stride: stride) }
        let rows = try await scheduler.run(plan.windows, kind: .head)
        let perWindow = try pipelineCall { try rows.indices.map { w in try rows[w].values.withUnsafeBufferPointer { try p.entities(plan, window: w, logits: $0) } } }
        return Output(json: RawJSON(TokenClassificationPipeline.json(p.merge(plan, perWindow), singleInput: single)),
                      tokens: plan.windows.reduce(0) { $0 + $1.count })
    }

    func questionAnswering(_ r: JSONRequest) async throws -> Output {
        guard let p = served.reader else { throw APIError.backend("Model is not a QA model (ElectraForQuestionAnswering)") }
        let questions: [QuestionAnsweringPipeline.Question], single: Bool
        if let q = r.fields["question"] as? String {
            guard let c = r.fields["context"] as? String else { throw APIError.field("`context` must be a string when `question` is") }
            (questions, single) = ([.init(question: q, context: c)], true)
        } else {
            guard let qs = try r.strings("question"), let cs = try r.strings("context") else { throw APIError.field("missing field `question` (and `context`)") }
            guard qs.count == cs.count else { throw APIError.field("`question` and `context` must have the same length") }
            (questions, single) = (zip(qs, cs).map { .init(question: $0, context: $1) }, false)
        }
        try checkBatch(questions.count)
        for q in questions where q.context.isEmpty || q.question.isEmpty { throw APIError.empty("`question` and `context` cannot be empty") }
        var s = QuestionAnsweringPipeline.Settings()
        if let k = try r.int("top_k") { guard k >= 1 else { throw APIError.field("`top_k` must be at least 1") }; s.topK = k }
        if let k = try r.int("max_answer_len") { guard k >= 1 else { throw APIError.field("`max_answer_len` must be at least 1") }; s.maxAnswerLength = k }
        if let k = try r.int("max_seq_len") {
            guard (4...maxLength).contains(k) else { throw APIError.field("`max_seq_len` must be in 4...\(maxLength), got \(k)") }
            s.maxSeqLength = k
        }
        if let k = try r.int("doc_stride") {
            guard k >= 0 && k <= (s.maxSeqLength ?? min(384, maxLength)) else { throw APIError.field("`doc_stride` must be in 0...max_seq_len, got \(k)") }
            s.docStride = k
        }
        s.handleImpossibleAnswer = try r.bool("handle_impossible_answer", default: false)
        s.alignToWords = try r.bool("align_to_words", default: true)
        let plan = try pipelineCall { try p.plan(questions, settings: s) }
        let rows = try await scheduler.run(plan.windows, kind: .head)
        let perWindow = try pipelineCall {
            try rows.indices.map { w in
                // Rows are start and end logits interleaved per token.
                let n = rows[w].tokens, v = rows[w].values
                let start = (0..<n).map { v[2 * $0] }, end = (0..<n).map { v[2 * $0 + 1] }
                return try p.spans(plan, window: w, start: start, end: end)
            }
        }
        return Output(json: RawJSON(QuestionAnsweringPipeline.json(p.answers(plan, perWindow), singleInput: single)),
                      tokens: plan.windows.reduce(0) { $0 + $1.count })
    }

    func number(_ r: JSONRequest, _ key: String) throws -> Double? {
        guard r.has(key) else { return nil }
        guard let n = r.fields[key] as? NSNumber, !JSONRequest.isBool(n) else { throw APIError.field("`\(key)` must be a number") }
        return n.doubleValue
    }

    /// A pipeline's ElectraError (a bad option value, a text without [MASK]) is the client's
    /// mistake: 422 naming it.
    func pipelineCall<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ElectraError {
            throw APIError.field(e.message)
        }
    }
}

/// A JSON object whose keys keep their order (TEI's structs serialize in field order).
struct OrderedObject {
    var fields: [(String, Any)]
    init(_ fields: [(String, Any)]) { self.fields = fields }
    mutating func append(_ key: String, _ value: Any) { fields.append((key, value)) }
}

/// A value already in the pipelines' ordered JSON.
struct RawJSON { let value: PipelineJSON; init(_ v: PipelineJSON) { value = v } }
