import Foundation
import OutpostCore
import Testing

@Suite("Agent channel frames and versions")
struct AgentChannelFrameTests {
    @Test("a log frame splits back into its call and its chunk, whatever the chunk holds")
    func logFrameRoundTrip() throws {
        var call = ChannelCall(id: 42, op: .log)
        call.taskID = "tsk_abc"
        call.offset = 4096
        let header = Array(try WireJSON.encoder().encode(call))
        for chunk in [[UInt8](), Array("hello\n".utf8), (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }] {
            let frame = ChannelFrame.logFrame(header: header, chunk: chunk)
            let (parsedHeader, range) = try ChannelFrame.splitLogFrame(frame)
            #expect(Array(parsedHeader) == header)
            #expect(Array(frame[range]) == chunk)
            #expect(try WireJSON.decodeRequest(ChannelCall.self, from: parsedHeader) == call)
        }
    }

    @Test("a frame whose header length runs past it, or that is too short, is refused with a reason")
    func malformedFrames() {
        for frame: [UInt8] in [[], [0, 0, 0], [0, 0, 0, 9, 123], [0xFF, 0xFF, 0xFF, 0xFF]] {
            #expect(throws: WireDecodingError.self) { try ChannelFrame.splitLogFrame(frame) }
        }
    }

    @Test("offered versions are read from a Sec-WebSocket-Protocol list; other protocols are ignored")
    func offeredVersions() {
        #expect(AgentChannel.offeredVersions("outpost-agent.v1") == [1])
        #expect(AgentChannel.offeredVersions("outpost-agent.v2, outpost-agent.v1") == [2, 1])
        #expect(AgentChannel.offeredVersions("chat, superchat") == [])
        #expect(AgentChannel.offeredVersions("outpost-agent.vX, outpost-agent.v") == [])
        #expect(AgentChannel.subprotocol(version: AgentChannel.version) == "outpost-agent.v1")
    }

    @Test("calls are decoded strictly: an unknown field names itself")
    func strictCalls() {
        let bytes = Array(#"{"id":1,"op":"poll","pol":{}}"#.utf8)
        #expect(throws: WireDecodingError.self) { try WireJSON.decodeRequest(ChannelCall.self, from: bytes) }
        let unknownOp = Array(#"{"id":1,"op":"teleport"}"#.utf8)
        #expect(throws: WireDecodingError.self) { try WireJSON.decodeRequest(ChannelCall.self, from: unknownOp) }
    }
}
