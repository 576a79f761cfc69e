//! Rendering of the password notification with minijinja: built-in English and French
//! templates, replaceable part by part.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::Error;
use super::password::Password;
use super::settings::{Culture, TemplateOverrides, TemplateSource};

const SUBJECT: &str = "subject.txt";
const TEXT: &str = "body.txt";
/// The `.html` suffix turns minijinja's auto-escaping on for this part.
const HTML: &str = "body.html";

const BUILTIN_SUBJECT: &str = include_str!("templates/subject.txt");
const BUILTIN_TEXT: &str = include_str!("templates/body.txt");
const BUILTIN_HTML: &str = include_str!("templates/body.html");

/// The longest name, account or subject kept, in characters.
const MAX_FIELD_CHARS: usize = 200;

/// A stand-in password for the trial render in [`Templates::new`]; plain ASCII letters and
/// digits, so HTML escaping leaves it as it is.
const SENTINEL: &str = "PassdeskTrialRender7x3q";

/// The rendered mail. The bodies hold the password; this type is dropped right after sending.
pub(super) struct Rendered {
    pub(super) text: String,
    pub(super) html: String,
}

/// What the templates see, besides the password.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Fields {
    /// Display name of the person the mail is addressed to.
    pub(super) recipient_name: Option<String>,
    /// Full name of the person whose password this is.
    pub(super) beneficiary_name: Option<String>,
    /// The account or target system the password opens.
    pub(super) account: Option<String>,
}

impl Fields {
    /// Single-line, bounded copies of the caller's values (control characters become spaces;
    /// blank values become `None`).
    pub(super) fn new(
        recipient_name: Option<&str>,
        beneficiary_name: Option<&str>,
        account: Option<&str>,
    ) -> Self {
        Self {
            recipient_name: recipient_name.and_then(clean),
            beneficiary_name: beneficiary_name.and_then(clean),
            account: account.and_then(clean),
        }
    }
}

#[derive(Serialize)]
struct Context<'a> {
    #[serde(flatten)]
    fields: &'a Fields,
    culture: &'static str,
    cultures: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
}

/// The three templates of the notification, checked and ready to render.
pub(super) struct Templates {
    env: Environment<'static>,
    cultures: Vec<Culture>,
}

impl Templates {
    /// Loads the built-in templates and the overrides, then renders every part once with
    /// sample values: a template that does not parse, refers to an unknown variable, puts the
    /// password in the subject, or does not show it exactly once in each body is refused here,
    /// not at the first send.
    pub(super) fn new(
        cultures: &[Culture],
        overrides: Option<&TemplateOverrides>,
    ) -> Result<Self, Error> {
        let mut env = Environment::new();
        // Debug info would keep the values of referenced variables (the password) in errors.
        env.set_debug(false);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        let overrides = overrides.cloned().unwrap_or_default();
        for (name, builtin, custom) in [
            (SUBJECT, BUILTIN_SUBJECT, overrides.subject),
            (TEXT, BUILTIN_TEXT, overrides.text),
            (HTML, BUILTIN_HTML, overrides.html),
        ] {
            let source = match custom {
                None => builtin.to_owned(),
                Some(TemplateSource::Inline(text)) => text,
                Some(TemplateSource::File(path)) => {
                    std::fs::read_to_string(&path).map_err(|e| Error::Template {
                        part: part_name(name),
                        problem: format!("cannot read {}: {e}", path.display()),
                    })?
                }
            };
            env.add_template_owned(name, source)
                .map_err(|e| Error::Template {
                    part: part_name(name),
                    problem: e.to_string(),
                })?;
        }
        let templates = Self {
            env,
            cultures: cultures.to_vec(),
        };
        templates.trial_render()?;
        Ok(templates)
    }

    fn trial_render(&self) -> Result<(), Error> {
        let full = Fields::new(
            Some("Jane Doe"),
            Some("John Smith"),
            Some("Active Directory"),
        );
        let empty = Fields::new(None, None, None);
        for fields in [&full, &empty] {
            self.subject(fields).map_err(|e| match e {
                // Strict mode reports the password as undefined in the subject.
                Error::Template { part, problem } => Error::Template {
                    part,
                    problem: format!("{problem} (the subject cannot show the password)"),
                },
                other => other,
            })?;
            for name in [TEXT, HTML] {
                let body = self.render(name, fields, Some(SENTINEL), true)?;
                let shown = body.matches(SENTINEL).count();
                if shown != 1 {
                    return Err(Error::Template {
                        part: part_name(name),
                        problem: format!(
                            "must show {{{{ password }}}} exactly once, shows it {shown} times"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The subject line: rendered without the password, on one line.
    pub(super) fn subject(&self, fields: &Fields) -> Result<String, Error> {
        let raw = self.render(SUBJECT, fields, None, true)?;
        let line = raw
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if line.is_empty() {
            return Err(Error::Template {
                part: part_name(SUBJECT),
                problem: "renders an empty subject".into(),
            });
        }
        Ok(line)
    }

    /// Both bodies, with the password.
    pub(super) fn bodies(&self, fields: &Fields, password: &Password) -> Result<Rendered, Error> {
        Ok(Rendered {
            text: self.render(TEXT, fields, Some(password.expose()), false)?,
            html: self.render(HTML, fields, Some(password.expose()), false)?,
        })
    }

    /// The primary culture.
    pub(super) fn culture(&self) -> Culture {
        self.cultures.first().copied().unwrap_or(Culture::En)
    }

    fn render(
        &self,
        name: &str,
        fields: &Fields,
        password: Option<&str>,
        detailed_errors: bool,
    ) -> Result<String, Error> {
        let ctx = Context {
            fields,
            culture: self.culture().code(),
            cultures: self.cultures.iter().map(|c| c.code()).collect(),
            password,
        };
        self.env
            .get_template(name)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| Error::Template {
                part: part_name(name),
                // With a real password in the context, keep only what cannot echo a value.
                problem: if detailed_errors {
                    e.to_string()
                } else {
                    format!("{} (line {})", e.kind(), e.line().unwrap_or(0))
                },
            })
    }
}

fn part_name(template: &str) -> String {
    match template {
        SUBJECT => "subject",
        TEXT => "text",
        _ => "html",
    }
    .to_owned()
}

/// A single-line, bounded copy of a display value; `None` when blank.
fn clean(value: &str) -> Option<String> {
    let line: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_FIELD_CHARS)
        .collect();
    let line = line.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn password(s: &str) -> Password {
        Password::new(SecretString::from(s.to_owned())).unwrap()
    }

    fn fields() -> Fields {
        Fields::new(
            Some("Marie Curie"),
            Some("Pierre Curie"),
            Some("Active Directory"),
        )
    }

    #[test]
    fn english_mail_names_account_beneficiary_and_first_use_change() {
        let t = Templates::new(&[Culture::En], None).unwrap();
        assert_eq!(
            t.subject(&fields()).unwrap(),
            "New password for Active Directory – Pierre Curie"
        );
        let r = t.bodies(&fields(), &password("Xy9-secret")).unwrap();
        assert!(r.text.starts_with("Hello Marie Curie,\n"), "{}", r.text);
        assert!(
            r.text
                .contains("new password for the Active Directory account of Pierre Curie:")
        );
        assert!(r.text.contains("\n    Xy9-secret\n"));
        assert!(r.text.contains("changed the first time it is used"));
        assert!(!r.text.contains("Bonjour"));
        assert!(r.html.contains("<html lang=\"en\">"));
        assert!(r.html.contains("<strong>Pierre Curie</strong>"));
        assert_eq!(r.html.matches("Xy9-secret").count(), 1);
    }

    #[test]
    fn french_mail_when_french_is_the_primary_culture() {
        let t = Templates::new(&[Culture::Fr], None).unwrap();
        assert_eq!(
            t.subject(&fields()).unwrap(),
            "Nouveau mot de passe pour Active Directory – Pierre Curie"
        );
        let r = t.bodies(&fields(), &password("Xy9-secret")).unwrap();
        assert!(r.text.starts_with("Bonjour Marie Curie,\n"), "{}", r.text);
        assert!(
            r.text
                .contains("du compte Active Directory attribué à Pierre Curie :")
        );
        assert!(r.text.contains("dès la première utilisation"));
        assert!(!r.text.contains("Hello"));
        assert!(r.html.contains("<html lang=\"fr\">"));
    }

    #[test]
    fn secondary_cultures_follow_without_repeating_the_password() {
        let t = Templates::new(&[Culture::Fr, Culture::En], None).unwrap();
        assert!(
            t.subject(&fields())
                .unwrap()
                .starts_with("Nouveau mot de passe")
        );
        let r = t.bodies(&fields(), &password("Xy9-secret")).unwrap();
        let (fr, en) = r.text.split_once("-----").unwrap();
        assert!(fr.contains("Bonjour") && fr.contains("Xy9-secret"));
        assert!(en.contains("Hello") && en.contains("shown earlier in this message"));
        assert_eq!(r.text.matches("Xy9-secret").count(), 1);
        assert_eq!(r.html.matches("Xy9-secret").count(), 1);
        assert!(r.html.contains("<div lang=\"en\">"));
    }

    #[test]
    fn missing_names_read_naturally() {
        let t = Templates::new(&[Culture::En], None).unwrap();
        let none = Fields::new(None, Some("  "), None);
        assert_eq!(t.subject(&none).unwrap(), "New password");
        let r = t.bodies(&none, &password("Xy9-secret")).unwrap();
        assert!(
            r.text.starts_with("Hello,\n\nHere is the new password:\n"),
            "{}",
            r.text
        );
    }

    #[test]
    fn html_part_escapes_password_and_names_text_part_keeps_them() {
        let t = Templates::new(&[Culture::En], None).unwrap();
        let f = Fields::new(
            Some("<b>Eve & \"Co\"</b>"),
            Some("O'Brien <script>"),
            Some("A&B"),
        );
        let r = t.bodies(&f, &password("<b>&\"'")).unwrap();
        assert_eq!(r.html.matches("&lt;b&gt;&amp;&quot;&#x27;").count(), 1);
        assert!(!r.html.contains("<b>&"));
        assert!(
            r.html
                .contains("Hello &lt;b&gt;Eve &amp; &quot;Co&quot;&lt;&#x2f;b&gt;,")
        );
        assert!(r.html.contains("O&#x27;Brien &lt;script&gt;"));
        assert!(!r.html.contains("<script>"));
        assert!(r.html.contains("<strong>A&amp;B</strong>"));
        assert_eq!(r.text.matches("<b>&\"'").count(), 1);
        assert!(r.text.contains("of O'Brien <script>:"));
    }

    #[test]
    fn values_are_single_line_and_bounded() {
        let f = Fields::new(
            Some("Jane\r\nBcc: eve@evil.com"),
            Some(&"x".repeat(500)),
            None,
        );
        assert_eq!(f.recipient_name.as_deref(), Some("Jane  Bcc: eve@evil.com"));
        assert_eq!(f.beneficiary_name.unwrap().chars().count(), MAX_FIELD_CHARS);
        let t = Templates::new(
            &[Culture::En],
            Some(&TemplateOverrides {
                subject: Some(TemplateSource::Inline("Hi\n{{ account }}\n".into())),
                ..TemplateOverrides::default()
            }),
        )
        .unwrap();
        assert_eq!(t.subject(&fields()).unwrap(), "Hi Active Directory");
    }

    #[test]
    fn overrides_replace_parts_and_are_checked_up_front() {
        let ok = TemplateOverrides {
            subject: Some(TemplateSource::Inline("Access for {{ account }}".into())),
            text: Some(TemplateSource::Inline("pw={{ password }}".into())),
            html: None,
        };
        let t = Templates::new(&[Culture::En], Some(&ok)).unwrap();
        assert_eq!(t.subject(&fields()).unwrap(), "Access for Active Directory");
        let r = t.bodies(&fields(), &password("Xy9-secret")).unwrap();
        assert_eq!(r.text, "pw=Xy9-secret");
        assert!(r.html.contains("Hello Marie Curie"));

        let cases = [
            (
                TemplateOverrides {
                    subject: Some(TemplateSource::Inline("{{ password }}".into())),
                    ..TemplateOverrides::default()
                },
                "subject",
                "cannot show the password",
            ),
            (
                TemplateOverrides {
                    text: Some(TemplateSource::Inline("no password here".into())),
                    ..TemplateOverrides::default()
                },
                "text",
                "shows it 0 times",
            ),
            (
                TemplateOverrides {
                    html: Some(TemplateSource::Inline(
                        "{{ password }} {{ password }}".into(),
                    )),
                    ..TemplateOverrides::default()
                },
                "html",
                "shows it 2 times",
            ),
            (
                TemplateOverrides {
                    text: Some(TemplateSource::Inline("{% if %}".into())),
                    ..TemplateOverrides::default()
                },
                "text",
                "syntax error",
            ),
            (
                TemplateOverrides {
                    text: Some(TemplateSource::Inline("{{ pasword }}".into())),
                    ..TemplateOverrides::default()
                },
                "text",
                "undefined",
            ),
            (
                TemplateOverrides {
                    html: Some(TemplateSource::File("/nonexistent/passdesk/x.html".into())),
                    ..TemplateOverrides::default()
                },
                "html",
                "cannot read /nonexistent/passdesk/x.html",
            ),
        ];
        for (overrides, want_part, want_problem) in cases {
            match Templates::new(&[Culture::En], Some(&overrides)) {
                Err(Error::Template { part, problem }) => {
                    assert_eq!(part, want_part, "{problem}");
                    assert!(problem.contains(want_problem), "{part}: {problem}");
                }
                other => panic!("expected a template error, got {:?}", other.err()),
            }
        }
    }

    #[test]
    fn override_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body.html");
        std::fs::write(&path, "<p>{{ password }}</p>").unwrap();
        let t = Templates::new(
            &[Culture::En],
            Some(&TemplateOverrides {
                html: Some(TemplateSource::File(path)),
                ..TemplateOverrides::default()
            }),
        )
        .unwrap();
        let r = t.bodies(&fields(), &password("a<b")).unwrap();
        assert_eq!(r.html, "<p>a&lt;b</p>");
    }
}
