import ArgumentParser
import Electra
import ElectraTokenizers
import ElectraTraining
import Foundation

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One vector per text from any ELECTRA model folder (feature extraction).",
        discussion: "Mean over the attention mask of the last layer by default (--pooling cls for the [CLS] vector, --layer N for another layer, 0 = embeddings). Output: OUT.safetensors (tensor `embeddings` [texts, hidden]) or OUT.jsonl (one {\"text\", \"embedding\"} object per line), written atomically; without --output, JSON lines on standard output.")

    @Option(help: "Model folder (any ELECTRA class; heads are ignored).") var model: String
    @Option(help: "A file of lines, one text each; - reads standard input.") var file: String?
    @Argument(help: "Texts (instead of --file).") var texts: [String] = []
    @Option(help: "OUT.safetensors or OUT.jsonl.") var output: String?
    @Option(help: "mean (over the attention mask) or cls.") var pooling = "mean"
    @Option(parsing: .unconditional, help: "Hidden state to pool: 0 = embeddings, N = layer N, negative from the end (-1 = last).") var layer = -1
    @Flag(help: "Scale each vector to unit L2 norm.") var normalize = false
    @Option(help: "Tokens per text, special tokens included (default: min(512, max_position_embeddings)); longer texts are cut and counted.") var maxLength: Int?
    @Option(help: "Texts per forward pass.") var batchSize = 32
    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            let dtype = try running.apply()
            guard let pool = SentenceEmbedder.Pooling(rawValue: pooling) else {
                throw ElectraError("--pooling must be mean or cls, got '\(pooling)'")
            }
            guard batchSize > 0 else { throw ElectraError("--batch-size must be positive, got \(batchSize)") }
            let format = try output.map { path -> String in
                let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
                guard ext == "safetensors" || ext == "jsonl" else {
                    throw ElectraError("--output must end in .safetensors or .jsonl, got \(path)")
                }
                return ext
            }
            let inputs: [String]
            if let file {
                guard texts.isEmpty else { throw ElectraError("give texts or --file, not both") }
                inputs = try TextInput.lines(file).map(String.init)
                guard !inputs.isEmpty else { throw ElectraError("\(file) holds no text") }
            } else {
                guard !texts.isEmpty else { throw ElectraError("give texts or --file") }
                inputs = texts
            }
            let dir = URL(fileURLWithPath: model)
            let (m, report) = try ElectraModel.load(from: dir)
            m.setInferenceDType(dtype)
            if !report.missing.isEmpty { warn("\(dir.path) lacks \(report.missing.count) encoder weights (initialised at random): \(report.missing.prefix(3).joined(separator: ", "))") }
            let (tok, _) = try TokenizerFiles.load(dir, hint: "the model folder must hold its tokenizer files")
            var embedder = SentenceEmbedder(model: m, tokenizer: tok)
            embedder.pooling = pool
            embedder.layer = layer
            embedder.normalize = normalize
            embedder.batchSize = batchSize
            if let maxLength { embedder.maxLength = maxLength }
            _ = try embedder.layerIndex()

            var vectors: [[Float]] = []
            let progress = BatchProgress(total: inputs.count, unit: "texts")
            for start in stride(from: 0, to: inputs.count, by: batchSize * 8) {
                vectors += try embedder.embed(Array(inputs[start..<min(start + batchSize * 8, inputs.count)]))
                progress.update(vectors.count)
            }
            if embedder.truncated > 0 { warn("\(embedder.truncated) text(s) were longer than \(embedder.maxLength) tokens and were cut to that length") }

            func jsonLines() throws -> Data {
                var data = Data()
                for (text, v) in zip(inputs, vectors) {
                    let obj = JSONValue.object(["text": .string(text), "embedding": .array(v.map { .number(Double($0)) })])
                    data += try obj.serialized(pretty: false) + Data("\n".utf8)
                }
                return data
            }
            switch format {
            case "safetensors":
                let t = Tensor(shape: [vectors.count, embedder.dimension], values: vectors.flatMap { $0 })
                try SafeTensorsWriter.write([("embeddings", .float(t))], metadata: ["pooling": pooling, "layer": "\(layer)", "normalized": "\(normalize)"],
                                            to: URL(fileURLWithPath: output!))
            case "jsonl":
                try AtomicFile.write(try jsonLines(), to: URL(fileURLWithPath: output!))
            default:
                FileHandle.standardOutput.write(try jsonLines())
            }
            if let output { FileHandle.standardError.write(Data("\(vectors.count) vectors of \(embedder.dimension) -> \(output)\n".utf8)) }
        }
    }
}
