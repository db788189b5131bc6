//! A real SMTP server for the mail tests: it speaks enough of the protocol
//! for lettre (EHLO, AUTH PLAIN, MAIL, RCPT, DATA) and keeps what each
//! session sent.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the SMTP server saw of one session.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// The user and password it authenticated with.
    pub auth: Option<(String, String)>,
    /// Whether they were the account's.
    pub accepted: bool,
    /// `MAIL FROM`.
    pub from: String,
    /// `RCPT TO`s.
    pub to: Vec<String>,
    /// The message, headers and body, lines joined by `\n`.
    pub data: String,
}

/// An SMTP server on 127.0.0.1:0 that takes mail only from one user with
/// its password (AUTH PLAIN).
pub struct Smtp {
    pub port: u16,
    sessions: Arc<Mutex<Vec<Session>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Smtp {
    pub async fn start(user: &str, password: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let kept = sessions.clone();
        let account = Arc::new((user.to_string(), password.to_string()));
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, kept.clone(), account.clone()));
            }
        });
        Self {
            port,
            sessions,
            task,
        }
    }

    /// The sessions that delivered a message.
    pub fn delivered(&self) -> Vec<Session> {
        self.sessions
            .lock()
            .unwrap()
            .iter()
            .filter(|s| !s.data.is_empty())
            .cloned()
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    sessions: Arc<Mutex<Vec<Session>>>,
    account: Arc<(String, String)>,
) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut s = Session::default();
    let _ = write.write_all(b"220 smtp.test ESMTP\r\n").await;
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") {
            "250-smtp.test\r\n250 AUTH PLAIN".to_string()
        } else if let Some(b64) = line.strip_prefix("AUTH PLAIN ") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .unwrap_or_default();
            let parts: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            let (user, pass) = (
                parts.get(1).cloned().unwrap_or_default(),
                parts.get(2).cloned().unwrap_or_default(),
            );
            s.accepted = user == account.0 && pass == account.1;
            s.auth = Some((user, pass));
            if s.accepted {
                "235 2.7.0 Authentication successful".into()
            } else {
                "535 5.7.8 Authentication credentials invalid".into()
            }
        } else if upper.starts_with("MAIL FROM:") {
            if s.accepted {
                s.from = line[10..].trim().to_string();
                "250 OK".into()
            } else {
                "530 5.7.0 Authentication required".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            s.to.push(line[8..].trim().to_string());
            "250 OK".into()
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut data = Vec::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push(l);
            }
            s.data = data.join("\n");
            "250 OK queued".into()
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            break;
        } else {
            "250 OK".into()
        };
        if write
            .write_all(format!("{answer}\r\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
    sessions.lock().unwrap().push(s);
}
