import Electra
import ElectraTokenizers
import Foundation

/// HF `pipeline("feature-extraction")`: the last hidden state of every token ([CLS] and [SEP]
/// included), from any ELECTRA folder (heads are ignored).
public final class FeatureExtractionPipeline: Sendable {
    public let model: ElectraModel
    public let tokenizer: ElectraTokenizer
    public let options: PipelineOptions

    public convenience init(folder: URL, options: PipelineOptions = .init()) throws {
        let o = try options.validated()
        let (m, t) = try PipelineLoading.load(ElectraModel.self, from: folder, pipeline: "feature-extraction", options: o)
        try self.init(model: m, tokenizer: t, options: o)
    }

    public init(model: ElectraModel, tokenizer: ElectraTokenizer, options: PipelineOptions = .init()) throws {
        self.model = model
        self.tokenizer = try PipelineLoading.prepared(tokenizer)
        self.options = try options.applied(to: model)
    }

    /// [texts][tokens][hidden]. `truncation` cuts texts longer than the model's positions;
    /// without it they are an error (as in HF).
    public func callAsFunction(_ texts: [String], truncation: Bool = false) throws -> [[[Float]]] {
        let maxLength = model.config.maxPositionEmbeddings, H = model.config.hiddenSize
        var tok = tokenizer
        if truncation { try tok.setTruncation(TruncationOptions(maxLength: maxLength)) }
        let encodings = try texts.enumerated().map { i, text -> Encoding in
            let e = try tok.encode(text)
            guard e.count <= maxLength else { throw ElectraError("text \(i + 1) has \(e.count) tokens; the model reads at most \(maxLength) (pass truncation to cut it)") }
            return e
        }
        var results = [[[Float]]](repeating: [], count: texts.count)
        try BatchRunner(options: options, padId: tok.padTokenId).run(encodings, forward: { try model($0) }) { index, row, L, out in
            let base = out.lastHiddenState!.pointer + row * L * H
            results[index] = (0..<encodings[index].count).map { t in Array(UnsafeBufferPointer(start: base + t * H, count: H)) }
        }
        return results
    }

    public func features(_ texts: [String], truncation: Bool = false) async throws -> [[[Float]]] {
        try await runBlocking { try self(texts, truncation: truncation) }
    }

    /// HF's value: [1][tokens][hidden] for one text, a list of those for several.
    public static func json(_ results: [[[Float]]], singleInput: Bool) -> PipelineJSON {
        let values = results.map { PipelineJSON.array([.array($0.map { .array($0.map { .number(Double($0)) }) })]) }
        return singleInput ? values[0] : .array(values)
    }
}
