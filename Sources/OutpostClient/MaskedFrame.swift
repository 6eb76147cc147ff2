import NIOCore
import NIOWebSocket
import OutpostCore

/// A client's WebSocket data frame, built and masked here (RFC 6455 §5.2–5.3): the
/// header, a fresh random masking key, and the payload masked eight bytes at a time
/// (`WebSocketMask`). NIO's frame encoder would mask it again one byte at a time,
/// a third of the agent's CPU when a task logs fast, so these frames are written
/// below it (`ChannelCallHandler.writeFrame`).
enum MaskedFrame {
    /// A final text (or `binary`) frame whose payload `writePayload` writes:
    /// `payloadLength` bytes exactly.
    static func make(
        binary: Bool, payloadLength: Int, allocator: ByteBufferAllocator, writePayload: (inout ByteBuffer) -> Void
    ) -> ByteBuffer {
        var frame = allocator.buffer(capacity: payloadLength + 14)
        // FIN, and opcode 0x2 (binary) or 0x1 (text).
        frame.writeInteger(UInt8(binary ? 0x82 : 0x81))
        if payloadLength < 126 {
            frame.writeInteger(UInt8(0x80) | UInt8(payloadLength))
        } else if payloadLength <= Int(UInt16.max) {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(payloadLength))
        } else {
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(payloadLength))
        }
        let key = WebSocketMaskingKey.random()
        frame.writeBytes(key)
        let headerLength = frame.readableBytes
        writePayload(&frame)
        precondition(frame.readableBytes - headerLength == payloadLength, "a masked frame's payload has the wrong length")
        frame.withUnsafeMutableReadableBytes { bytes in
            WebSocketMask.apply(key: key, to: UnsafeMutableRawBufferPointer(rebasing: bytes[headerLength...]))
        }
        return frame
    }
}
