import ArgumentParser
import Electra
import Foundation

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint to an HF safetensors folder (config.json + model.safetensors).",
        discussion: """
            --input reads any format `--model` accepts: a folder or file with model.safetensors, \
            pytorch_model.bin (or a sharded .index.json), flax_model.msgpack or tf_model.h5; \
            config.json and tokenizer files next to it are copied.

            --tf-checkpoint exports one tower of a Google Research TF1 checkpoint \
            (model.ckpt-N prefix, its .index file, or its folder) with --config and --model-type, \
            as HF's convert_electra_original_tf_checkpoint_to_pytorch.py does; \
            tokenizer files next to the checkpoint (vocab.txt in Google's releases) are copied.
            """)

    @Option(help: "Checkpoint folder or file in any supported format.")
    var input: String?

    @Option(name: .customLong("tf-checkpoint"), help: "Google Research TF1 checkpoint (prefix model.ckpt-N, its .index file, or the folder).")
    var tfCheckpoint: String?

    @Option(help: "config.json for the model (required with --tf-checkpoint; default: the one next to --input).")
    var config: String?

    @Option(name: .customLong("model-type"), help: "Tower to export from a TF1 checkpoint: discriminator or generator.")
    var modelType: String?

    @Option(help: "Output folder (must not exist unless --overwrite).")
    var output: String

    @Option(help: "Stored weight type: f32, f16 or bf16 (half the size; loading widens to fp32).")
    var dtype = "f32"

    @Flag(help: "In an existing output folder, replace the files a conversion writes (config, weights, tokenizer files) after it succeeded; other files stay.")
    var overwrite = false

    func run() throws {
        try runReportingErrors {
            // Usage mistakes and missing inputs first, then the output folder.
            switch (input, tfCheckpoint) {
            case (nil, nil): throw ElectraError("pass --input FILE_OR_DIR or --tf-checkpoint PREFIX")
            case (_?, _?): throw ElectraError("pass either --input or --tf-checkpoint, not both")
            case (_?, nil): if modelType != nil { throw ElectraError("--model-type applies to --tf-checkpoint only") }
            case (nil, _?):
                if dtype != "f32" { throw ElectraError("--dtype applies to --input only") }
                guard config != nil else { throw ElectraError("--tf-checkpoint needs --config config.json (the tower's sizes)") }
                guard let modelType else { throw ElectraError("--tf-checkpoint needs --model-type discriminator or generator (the checkpoint holds both towers)") }
                guard ElectraTower(rawValue: modelType) != nil else {
                    throw ElectraError("--model-type is '\(modelType)'; expected discriminator or generator")
                }
            }
            if CheckpointConversion.StoredFloat(rawValue: dtype) == nil { throw ElectraError("--dtype is '\(dtype)'; expected f32, f16 or bf16") }
            if let i = input, !FileManager.default.fileExists(atPath: i) { throw ElectraError("no such file or folder: \(i)") }
            if let c = config, !FileManager.default.fileExists(atPath: c) { throw ElectraError("config file \(c) does not exist") }
            if let p = tfCheckpoint {
                let prefix = try TensorBundle.resolvePrefix(URL(fileURLWithPath: p))
                guard FileManager.default.fileExists(atPath: prefix.path + ".index") else {
                    throw ElectraError("no TF1 checkpoint at \(p) (\(prefix.lastPathComponent).index does not exist)")
                }
            }
            let out = URL(fileURLWithPath: output)
            let sources = [("--input", input), ("--tf-checkpoint", tfCheckpoint), ("--config", config)]
                .compactMap { o, p in p.map { (o, URL(fileURLWithPath: $0)) } }
            try refuseOutputOverInputs(out, sources)
            let written = try AtomicFolder.create(out, replace: overwrite, option: "--overwrite") { tmp in try convert(into: tmp, reportingAs: out) }
            noteKeptTokenizerFiles(in: out, written: written)
        }
    }

    func convert(into out: URL, reportingAs final: URL) throws {
            switch (input, tfCheckpoint) {
            case (let i?, nil):
                if modelType != nil { throw ElectraError("--model-type applies to --tf-checkpoint only") }
                guard let stored = CheckpointConversion.StoredFloat(rawValue: dtype) else {
                    throw ElectraError("--dtype is '\(dtype)'; expected f32, f16 or bf16")
                }
                let r = try CheckpointConversion.convert(
                    input: try ModelArgument.folder(i, option: "--input"), config: config.map { URL(fileURLWithPath: $0) }, to: out, storing: stored)
                print("converted \(r.written) tensors (\(r.format)) -> \(final.appendingPathComponent("model.safetensors").path)")
                if !r.skipped.isEmpty { print("skipped: \(r.skipped.joined(separator: ", "))") }
                for w in r.warnings { print("warning: \(w)") }
            case (nil, let prefix?):
                guard let config else { throw ElectraError("--tf-checkpoint needs --config config.json (the tower's sizes)") }
                guard let modelType else { throw ElectraError("--tf-checkpoint needs --model-type discriminator or generator (the checkpoint holds both towers)") }
                guard let tower = ElectraTower(rawValue: modelType) else {
                    throw ElectraError("--model-type is '\(modelType)'; expected discriminator or generator")
                }
                let cfg = try ElectraConfig.load(from: URL(fileURLWithPath: config))
                let r = try CheckpointConversion.convertTF1(checkpoint: URL(fileURLWithPath: prefix), config: cfg, tower: tower, to: out)
                print("\(r.summary) -> \(final.path)")
            case (nil, nil):
                throw ElectraError("pass --input FILE_OR_DIR or --tf-checkpoint PREFIX")
            case (_?, _?):
                throw ElectraError("pass either --input or --tf-checkpoint, not both")
            }
    }
}

/// After `--overwrite` of a model folder: the tokenizer files there that this run did not
/// write stay (they are not its to delete), but may not belong to the new model; say so.
func noteKeptTokenizerFiles(in out: URL, written: [String]) {
    let kept = ModelFolderFiles.tokenizerNames.filter {
        !written.contains($0) && FileManager.default.fileExists(atPath: out.appendingPathComponent($0).path)
    }
    guard !kept.isEmpty else { return }
    FileHandle.standardError.write(Data("note: kept \(kept.joined(separator: ", ")) in \(out.path), which this run did not write; remove \(kept.count == 1 ? "it" : "them") if \(kept.count == 1 ? "it does" : "they do") not belong to the new model\n".utf8))
}

/// An output folder that is an input, or holds one, would be replaced with it: refused.
func refuseOutputOverInputs(_ output: URL, _ inputs: [(option: String, url: URL)]) throws {
    for (option, url) in inputs {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
        if (exists && !isDir.boolValue ? url.deletingLastPathComponent() : url).isSameOrInside(output) {
            throw ElectraError("--output \(output.path) holds the \(option) input \(url.path); choose another output folder")
        }
    }
}
