import ArgumentParser
import Electra
import ElectraPipelines
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
            guard let pool = SentenceEmbeddingPipeline.Pooling(rawValue: pooling) else {
                throw ElectraError("--pooling must be mean or cls, got '\(pooling)'")
            }
            let format = try output.map { path -> String in
                let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
                guard ext == "safetensors" || ext == "jsonl" else {
                    throw ElectraError("--output must end in .safetensors or .jsonl, got \(path)")
                }
                return ext
            }
            let dir = try ModelArgument.folder(model, option: "--model")
            if let output { try refuseOutputFileOverInputs(output, file.map { [(option: "--file", path: $0)] } ?? [], model: dir) }
            let inputs: [String]
            if let file {
                guard texts.isEmpty else { throw ElectraError("give texts or --file, not both") }
                inputs = try TextInput.lines(file).map(String.init)
                guard !inputs.isEmpty else { throw ElectraError("\(file) holds no text") }
            } else {
                guard !texts.isEmpty else { throw ElectraError("give texts or --file") }
                inputs = texts
            }
            let progress = BatchProgress(total: inputs.count, unit: "texts")
            var options = try running.pipelineOptions(dtype, batchSize: batchSize)
            options.progress = { done, _ in progress.update(done) }
            let embedder = try SentenceEmbeddingPipeline(folder: dir, options: options)
            let settings = SentenceEmbeddingPipeline.Settings(pooling: pool, layer: layer, normalize: normalize, maxLength: maxLength)
            do { _ = try embedder.layerIndex(layer) } catch { throw ElectraError("--\(error)") }
            if let maxLength, !(3...embedder.model.config.maxPositionEmbeddings).contains(maxLength) {
                throw ElectraError("--max-length must be in 3...\(embedder.model.config.maxPositionEmbeddings), got \(maxLength)")
            }
            let embedded = try embedder(inputs, settings: settings)
            let vectors = embedded.map(\.vector)
            let cut = embedded.filter(\.truncated).count
            if cut > 0 { warn("\(cut) text(s) were longer than \(maxLength ?? min(512, embedder.model.config.maxPositionEmbeddings)) tokens and were cut to that length") }

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
