import ElectraKernels
import Foundation

/// The files of a model folder its tokenizer is read from (ElectraTokenizer.load(directory:)):
/// what a Hub download fetches and what the folders this package writes copy.
public enum ModelFolderFiles {
    public static let tokenizerNames = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
}

extension ElectraHeadModel {
    /// Writes an HF-format folder (config.json + model.safetensors) that
    /// transformers' `from_pretrained` loads: `architectures` names this class, tied weights
    /// are left out as HF's save_pretrained does. Each file is written atomically.
    public func save(to directory: URL, config override: ElectraConfig? = nil) throws {
        try FileManager.default.createFolder(at: directory)
        var c = override ?? config
        c.architectures = [Self.architecture]
        try c.save(to: directory.appendingPathComponent("config.json"))
        let tensors = parameters.entries
            .filter { !parameters.tiedNames.contains($0.name) }
            .map { ($0.name, TensorPayload.float($0.parameter.value)) }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
    }
}
