import ElectraKernels
import Foundation

extension ElectraInputs {
    /// Tensor names an inputs file may hold.
    public static let fileTensorNames: Set<String> = [
        "input_ids", "attention_mask", "token_type_ids", "position_ids", "labels", "start_positions", "end_positions",
    ]

    /// Reads inputs from a safetensors file (I64/I32 ids; labels integer or F32).
    /// An unknown tensor name is an error: a misspelt "attention_masks" must not be ignored.
    public static func read(from url: URL) throws -> ElectraInputs {
        guard FileManager.default.fileExists(atPath: url.path) else { throw ElectraError("input file \(url.path) does not exist") }
        let f = try SafeTensorsFile(url: url)
        let name = url.lastPathComponent
        for n in f.names where !fileTensorNames.contains(n) {
            throw ElectraError("\(name): unknown input tensor '\(n)' (expected \(fileTensorNames.sorted().joined(separator: ", ")))")
        }
        guard f.records["input_ids"] != nil else { throw ElectraError("\(name): missing input_ids") }
        func int(_ n: String) throws -> IntTensor? { f.records[n] == nil ? nil : try f.intTensor(n) }
        var inputs = ElectraInputs(inputIds: try f.intTensor("input_ids"))
        inputs.attentionMask = try int("attention_mask")
        inputs.tokenTypeIds = try int("token_type_ids")
        inputs.positionIds = try int("position_ids")
        inputs.startPositions = try int("start_positions")
        inputs.endPositions = try int("end_positions")
        if let rec = f.records["labels"] {
            if rec.dtype.isFloatingPoint {
                inputs.floatLabels = try f.floatTensor("labels").copy()
            } else {
                inputs.labels = try f.intTensor("labels")
            }
        }
        return inputs
    }
}
