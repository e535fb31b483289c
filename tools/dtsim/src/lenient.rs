//! Lenient request targets (§2: "decode query strings leniently").
//!
//! Clients such as slo-generator join query parameters raw, so a request line may carry
//! `"` or spaces inside the query, which the HTTP stack would refuse with a bare 400. This
//! module wraps each accepted connection and percent-encodes those bytes in request lines
//! before the HTTP parser sees them. It follows HTTP/1.1 framing (Content-Length) so bodies
//! are never touched; after a chunked body it stops rewriting for that connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    RequestLine,
    Headers { content_length: u64, chunked: bool },
    Body(u64),
    Passthrough,
}

/// Rewrites a request line: bytes of the target that HTTP parsers refuse are
/// percent-encoded. A raw space inside the target is kept as `%20` (the target ends at the
/// last space before `HTTP/`).
pub fn rewrite_request_line(line: &[u8]) -> Vec<u8> {
    let body_end = line
        .iter()
        .rposition(|b| *b != b'\r' && *b != b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let text = &line[..body_end];
    let Some(first) = text.iter().position(|b| *b == b' ') else {
        return line.to_vec();
    };
    let Some(last) = text.iter().rposition(|b| *b == b' ') else {
        return line.to_vec();
    };
    if last <= first || !text[last + 1..].starts_with(b"HTTP/") {
        return line.to_vec();
    }
    let mut out = Vec::with_capacity(line.len() + 16);
    out.extend_from_slice(&text[..=first]);
    for &b in &text[first + 1..last] {
        match b {
            b'"' | b' ' | b'#' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'|' => {
                out.extend_from_slice(format!("%{b:02X}").as_bytes());
            }
            b if b < 0x20 || b == 0x7F => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
            b => out.push(b),
        }
    }
    out.extend_from_slice(&text[last..]);
    out.extend_from_slice(&line[body_end..]);
    out
}

/// The byte-stream state machine: request lines are rewritten, everything else copied.
#[derive(Debug)]
struct Sanitizer {
    state: State,
    line: Vec<u8>,
    out: Vec<u8>,
}

impl Sanitizer {
    fn new() -> Sanitizer {
        Sanitizer {
            state: State::RequestLine,
            line: Vec::new(),
            out: Vec::new(),
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        match self.state {
            State::RequestLine => {
                if line.iter().all(|b| *b == b'\r' || *b == b'\n') {
                    self.out.extend_from_slice(&line);
                    return;
                }
                self.out.extend_from_slice(&rewrite_request_line(&line));
                self.state = State::Headers {
                    content_length: 0,
                    chunked: false,
                };
            }
            State::Headers {
                mut content_length,
                mut chunked,
            } => {
                self.out.extend_from_slice(&line);
                let text = String::from_utf8_lossy(&line);
                let t = text.trim();
                if t.is_empty() {
                    self.state = if chunked {
                        State::Passthrough
                    } else if content_length > 0 {
                        State::Body(content_length)
                    } else {
                        State::RequestLine
                    };
                    return;
                }
                if let Some((name, value)) = t.split_once(':') {
                    let name = name.trim();
                    if name.eq_ignore_ascii_case("content-length") {
                        content_length = value.trim().parse().unwrap_or(0);
                    } else if name.eq_ignore_ascii_case("transfer-encoding")
                        && value.to_ascii_lowercase().contains("chunked")
                    {
                        chunked = true;
                    }
                }
                self.state = State::Headers {
                    content_length,
                    chunked,
                };
            }
            State::Body(_) | State::Passthrough => self.out.extend_from_slice(&line),
        }
    }

    fn process(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                State::Passthrough => {
                    self.out.extend_from_slice(data);
                    return;
                }
                State::Body(n) => {
                    let k = (n as usize).min(data.len());
                    self.out.extend_from_slice(&data[..k]);
                    data = &data[k..];
                    self.state = if n as usize == k {
                        State::RequestLine
                    } else {
                        State::Body(n - k as u64)
                    };
                }
                State::RequestLine | State::Headers { .. } => {
                    match data.iter().position(|b| *b == b'\n') {
                        Some(i) => {
                            self.line.extend_from_slice(&data[..=i]);
                            data = &data[i + 1..];
                            self.end_line();
                        }
                        None => {
                            self.line.extend_from_slice(data);
                            data = &[];
                            if self.line.len() > MAX_LINE {
                                let line = std::mem::take(&mut self.line);
                                self.out.extend_from_slice(&line);
                                self.state = State::Passthrough;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A connection whose request lines are made acceptable to the HTTP parser.
pub struct LenientIo {
    inner: TcpStream,
    s: Sanitizer,
    out_pos: usize,
    eof: bool,
}

impl LenientIo {
    pub fn new(inner: TcpStream) -> LenientIo {
        LenientIo {
            inner,
            s: Sanitizer::new(),
            out_pos: 0,
            eof: false,
        }
    }
}

impl AsyncRead for LenientIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            let out = &mut this.s.out;
            if this.out_pos < out.len() {
                let n = (out.len() - this.out_pos).min(buf.remaining());
                buf.put_slice(&out[this.out_pos..this.out_pos + n]);
                this.out_pos += n;
                if this.out_pos == out.len() {
                    out.clear();
                    this.out_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                if !this.s.line.is_empty() {
                    let line = std::mem::take(&mut this.s.line);
                    this.s.out.extend_from_slice(&line);
                    continue;
                }
                return Poll::Ready(Ok(()));
            }
            let mut tmp = [0u8; 8192];
            let mut rb = ReadBuf::new(&mut tmp);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let filled = rb.filled();
                    if filled.is_empty() {
                        this.eof = true;
                    } else {
                        let data = filled.to_vec();
                        this.s.process(&data);
                    }
                }
            }
        }
    }
}

impl AsyncWrite for LenientIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A TCP listener handing out [`LenientIo`] connections.
pub struct LenientListener(pub TcpListener);

impl axum::serve::Listener for LenientListener {
    type Io = LenientIo;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((s, a)) => {
                    let _ = s.set_nodelay(true);
                    return (LenientIo::new(s), a);
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_the_target() {
        let l = b"GET /api/v2/x?a=tag(\"app:x\")&b=c d HTTP/1.1\r\n";
        assert_eq!(
            String::from_utf8(rewrite_request_line(l)).unwrap(),
            "GET /api/v2/x?a=tag(%22app:x%22)&b=c%20d HTTP/1.1\r\n"
        );
        let ok = b"GET /a?b=1 HTTP/1.1\r\n";
        assert_eq!(rewrite_request_line(ok), ok.to_vec());
        assert_eq!(
            rewrite_request_line(b"garbage\r\n"),
            b"garbage\r\n".to_vec()
        );
    }

    #[test]
    fn framing_leaves_bodies_alone() {
        let mut s = Sanitizer::new();
        let input: &[u8] = b"POST /x?q=\"a\" HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"a\": \" \"}GET /y?q=\"b\" HTTP/1.1\r\n\r\n";
        // Feed in awkward pieces.
        for chunk in input.chunks(7) {
            s.process(chunk);
        }
        assert_eq!(
            String::from_utf8(s.out).unwrap(),
            "POST /x?q=%22a%22 HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"a\": \" \"}GET /y?q=%22b%22 HTTP/1.1\r\n\r\n"
        );
        assert_eq!(s.state, State::RequestLine);
        assert!(s.line.is_empty());
    }

    #[test]
    fn chunked_bodies_switch_to_passthrough() {
        let mut s = Sanitizer::new();
        s.process(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nx\"y\r\n0\r\n\r\n");
        assert_eq!(s.state, State::Passthrough);
        assert!(
            String::from_utf8(s.out)
                .unwrap()
                .ends_with("x\"y\r\n0\r\n\r\n")
        );
    }
}
