import ElectraHub
import ElectraPipelines
import Foundation

// The Hub example of docs/library.md, verbatim (checked by GuideTests in ElectraPipelinesTests).

func detectWithAHubModel(_ text: String, hub: HubClient = HubClient()) async throws -> [String] {
    let folder = try await hub.snapshot(HubName("google/electra-small-discriminator")!)
    let detector = try ReplacedTokenDetectionPipeline(folder: folder)
    return try await detector.detect([text])[0].replacedWords().map(\.word)
}
