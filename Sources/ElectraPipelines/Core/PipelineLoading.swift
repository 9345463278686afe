import Electra
import ElectraTokenizers
import Foundation

/// Loads a model folder for a pipeline: the head class the pipeline needs, its tokenizer, and
/// the checks a user expects (wrong head named; missing head weights refused).
enum PipelineLoading {
    static func load<Model: ElectraHeadModel>(_ type: Model.Type, from directory: URL, pipeline: String,
                                              options: PipelineOptions) throws -> (Model, ElectraTokenizer) {
        let config = try ElectraConfig.load(from: try ModelFolder.configURL(directory))
        // The base model reads any ELECTRA folder (heads are ignored); a head pipeline needs its head.
        if Model.self != ElectraModel.self, let arch = config.architectures?.first, arch != Model.architecture {
            throw ElectraError("\(directory.path) holds an \(arch); the \(pipeline) pipeline needs an \(Model.architecture) folder")
        }
        let (model, report) = try Model.load(config: config, weights: try CheckpointWeights.open(directory))
        let untrained = Model.self == ElectraModel.self ? report.missing : report.missing.filter { !$0.hasPrefix("electra.") }
        if !untrained.isEmpty && !options.allowUntrainedHead {
            let what = Model.self == ElectraModel.self ? "encoder" : "\(Model.architecture) head"
            throw ElectraError("\(directory.path) lacks the \(what) weights (\(untrained.prefix(4).joined(separator: ", "))\(untrained.count > 4 ? ", ..." : "")); the \(pipeline) pipeline needs a trained \(Model.architecture) folder (allowUntrainedHead loads it with random weights)")
        }
        model.setInferenceDType(options.dtype.resolved)  // bf16 without native products runs in fp32
        return (model, try loadTokenizer(directory))
    }

    /// The folder's tokenizer, with any fixed padding or truncation the file carries removed:
    /// pipelines pad per batch and window long texts themselves.
    static func loadTokenizer(_ directory: URL) throws -> ElectraTokenizer {
        let files = ["tokenizer.json", "vocab.txt"].map { directory.appendingPathComponent($0).path }
        guard files.contains(where: FileManager.default.fileExists) else {
            throw ElectraError("no tokenizer in \(directory.path) (expected tokenizer.json or vocab.txt beside config.json)")
        }
        var tok: ElectraTokenizer
        do {
            tok = try ElectraTokenizer.load(directory: directory)
        } catch let e as ElectraError {
            throw e
        } catch {
            throw ElectraError("tokenizer in \(directory.path): \(error)")
        }
        return try prepared(tok)
    }

    static func prepared(_ tokenizer: ElectraTokenizer) throws -> ElectraTokenizer {
        var tok = tokenizer
        tok.padding = nil
        try tok.setTruncation(nil)
        return tok
    }
}
