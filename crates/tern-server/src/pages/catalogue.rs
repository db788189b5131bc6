//! Every sentence the hosted pages show, per language. A page asks for a
//! [`Msg`] in a [`Lang`]; `ui_locales` (then `Accept-Language`) picks the
//! language among those with a translation, English otherwise.
//!
//! Adding a language: a variant of `Lang`, its tag in `Lang::from_tag`, and
//! one arm per message in `text` — the compiler lists what is missing.

/// A language the pages are translated into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English (the default).
    En,
    /// French.
    Fr,
}

impl Lang {
    /// The language of a BCP 47 tag (`fr`, `fr-CA`), if translated.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "fr" => Some(Self::Fr),
            _ => None,
        }
    }

    /// The `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }

    /// The first translated language of `ui_locales`, else of the
    /// `Accept-Language` header (in the order written, weights ignored
    /// unless zero), else English.
    pub fn choose(ui_locales: &[String], accept_language: Option<&str>) -> Self {
        ui_locales
            .iter()
            .find_map(|t| Self::from_tag(t))
            .or_else(|| {
                accept_language?
                    .split(',')
                    .filter(|part| !part.contains("q=0") || part.contains("q=0."))
                    .find_map(|part| Self::from_tag(part.split(';').next().unwrap_or_default()))
            })
            .unwrap_or(Self::En)
    }
}

/// A message of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the English text below says what each is
pub enum Msg {
    LoginTitle,
    LoginSubtitle,
    SignupTitle,
    SignupSubtitle,
    EmailLabel,
    EmailOrUsernameLabel,
    UsernameLabel,
    PasswordLabel,
    NewPasswordLabel,
    ConfirmPasswordLabel,
    ContinueButton,
    SignupButton,
    ForgotPassword,
    NoAccount,
    SignupLink,
    HaveAccount,
    LoginLink,
    WrongCredentials,
    Blocked,
    TooManyAttempts,
    TryLater,
    /// Suspicious-IP throttling refused a signup from this address.
    TooManySignups,
    SomethingWrong,
    ResetRequestTitle,
    ResetRequestText,
    ResetRequestButton,
    ResetRequestSent,
    BackToLogin,
    ResetTitle,
    ResetText,
    ResetButton,
    ResetDone,
    PasswordsDiffer,
    EnterPassword,
    EnterEmail,
    InvalidEmail,
    EnterUsername,
    InvalidUsername,
    UserExists,
    SignupDisabled,
    LinkExpiredTitle,
    SessionExpired,
    OtherBrowser,
    NoTransaction,
    ErrorTitle,
    LoggedOutTitle,
    LoggedOutText,
    ContinueToApp,
    RedirectingText,
    ShowPassword,
    PasswordHint,
    HintMinChars,
    HintLowerUpperDigits,
    HintThreeOfFourKinds,
    HintNoTriples,
    HintNotCommon,
    HintNoPersonalInfo,
    HintNotRecent,
    WeakPassword,
    CommonPassword,
    PersonalInfoPassword,
    ReusedPassword,
    MfaTitle,
    MfaText,
    MfaCodeLabel,
    WrongCode,
    TooManyCodes,
    EnrolTitle,
    EnrolText,
    EnrolSecretLabel,
    EnrolCodeLabel,
    EnrolQrLabel,
    InvalidLinkTitle,
    InvalidLinkText,
    NoTicketText,
    LinkUsedText,
    LinkExpiredText,
    AccountGoneText,
    PasswordChangedTitle,
    PasswordTooLong,
    BusyText,
    BadFormText,
}

/// The text of `msg` in `lang`; `{app}` and similar placeholders are
/// filled in by the caller (and escaped with the rest).
pub fn text(lang: Lang, msg: Msg) -> &'static str {
    use Msg::*;
    match lang {
        Lang::En => match msg {
            LoginTitle => "Welcome",
            MfaTitle => "Verify your identity",
            MfaText => "Enter the 6-digit code your authenticator app shows for {app}.",
            MfaCodeLabel => "One-time code",
            WrongCode => "That code is not valid. Enter the code your app shows now.",
            TooManyCodes => "Too many wrong codes. Wait fifteen minutes and try again.",
            EnrolTitle => "Secure your account",
            EnrolText => {
                "{app} asks for a second factor. Scan the QR code with an authenticator app (or type the key below), then enter the 6-digit code it shows."
            }
            EnrolSecretLabel => "Can't scan? Enter this key in your app:",
            EnrolCodeLabel => "Code from the app",
            EnrolQrLabel => "QR code for your authenticator app",
            LoginSubtitle => "Log in to continue to {app}.",
            SignupTitle => "Create your account",
            SignupSubtitle => "Sign up to continue to {app}.",
            EmailLabel => "Email address",
            EmailOrUsernameLabel => "Email address or username",
            UsernameLabel => "Username",
            PasswordLabel => "Password",
            NewPasswordLabel => "New password",
            ConfirmPasswordLabel => "Confirm the new password",
            ContinueButton => "Continue",
            SignupButton => "Sign up",
            ForgotPassword => "Forgot your password?",
            NoAccount => "Don't have an account?",
            SignupLink => "Sign up",
            HaveAccount => "Already have an account?",
            LoginLink => "Log in",
            WrongCredentials => "Wrong email or password.",
            Blocked => "Your account has been blocked. Contact the administrator of {app}.",
            TooManyAttempts => {
                "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it."
            }
            TryLater => "We could not sign you in right now. Try again in a few minutes.",
            TooManySignups => "Too many accounts were created from your network. Try again later.",
            SomethingWrong => "Something went wrong on our side. Try again in a moment.",
            ResetRequestTitle => "Forgot your password?",
            ResetRequestText => {
                "Enter your email address and we will send you a link to choose a new password."
            }
            ResetRequestButton => "Send the link",
            ResetRequestSent => {
                "If an account exists for that address, we have sent it a link to choose a new password. Check your inbox."
            }
            BackToLogin => "Back to log in",
            ResetTitle => "Choose a new password",
            ResetText => "Choose a new password for {email}.",
            ResetButton => "Set the new password",
            ResetDone => {
                "Your password has been changed. You can now log in with the new password."
            }
            PasswordsDiffer => "The two passwords differ. Type the same password twice.",
            EnterPassword => "Enter a password.",
            EnterEmail => "Enter your email address.",
            InvalidEmail => "Enter a valid email address.",
            EnterUsername => "Enter a username.",
            InvalidUsername => "This username is too short or too long for {app}. Choose another.",
            UserExists => "An account already exists for this email address. Log in instead.",
            SignupDisabled => "Sign-ups are disabled for {app}.",
            LinkExpiredTitle => "Link no longer valid",
            SessionExpired => {
                "Your sign-in took too long and has expired. Go back to {app} and sign in again."
            }
            OtherBrowser => {
                "This sign-in was started in another browser or tab that is now closed, or the page was submitted from another site. Go back to the application and sign in again."
            }
            NoTransaction => {
                "This page cannot be opened on its own. Go back to the application and sign in from there."
            }
            ErrorTitle => "Something is not right",
            LoggedOutTitle => "You are logged out",
            LoggedOutText => "You have been logged out. You can close this window.",
            ContinueToApp => "Continue",
            RedirectingText => "Signing you in…",
            ShowPassword => "Show password",
            PasswordHint => "Password requirements:",
            HintMinChars => "At least {n} characters.",
            HintLowerUpperDigits => "Lower case letters, upper case letters and numbers.",
            HintThreeOfFourKinds => {
                "At least 3 of: lower case letters, upper case letters, numbers, special characters."
            }
            HintNoTriples => "No character more than twice in a row.",
            HintNotCommon => "Not a common password.",
            HintNoPersonalInfo => "Nothing of your email, username or name.",
            HintNotRecent => "Not one of your last {n} passwords.",
            WeakPassword => "This password is too weak for this application.",
            CommonPassword => "This password is too common. Choose another one.",
            PersonalInfoPassword => {
                "This password contains your personal information (email, username or name). Choose another one."
            }
            ReusedPassword => "You have used this password recently. Choose another one.",
            InvalidLinkTitle => "Invalid link",
            InvalidLinkText => {
                "This password reset link is not valid. Check that you opened the whole link from the message, or ask for a new one."
            }
            NoTicketText => {
                "This link is incomplete: it carries no ticket. Open the whole link from the message."
            }
            LinkUsedText => {
                "This password reset link has already been used, or was replaced: a newer link, a change of the account's password or email, or a block closes earlier links. If you need to change your password, ask for a new link."
            }
            LinkExpiredText => "This password reset link has expired. Ask for a new one.",
            AccountGoneText => "The account this link was made for no longer exists.",
            PasswordChangedTitle => "Password changed",
            PasswordTooLong => "The password is too long: at most 1024 characters.",
            BusyText => "The server is busy right now. Go back and try again in a moment.",
            BadFormText => "The form could not be read. Open the link from the message again.",
        },
        Lang::Fr => match msg {
            LoginTitle => "Bienvenue",
            LoginSubtitle => "Connectez-vous pour continuer vers {app}.",
            SignupTitle => "Créez votre compte",
            SignupSubtitle => "Inscrivez-vous pour continuer vers {app}.",
            EmailLabel => "Adresse e-mail",
            EmailOrUsernameLabel => "Adresse e-mail ou nom d'utilisateur",
            UsernameLabel => "Nom d'utilisateur",
            PasswordLabel => "Mot de passe",
            NewPasswordLabel => "Nouveau mot de passe",
            ConfirmPasswordLabel => "Confirmez le nouveau mot de passe",
            ContinueButton => "Continuer",
            SignupButton => "S'inscrire",
            ForgotPassword => "Mot de passe oublié ?",
            NoAccount => "Pas encore de compte ?",
            SignupLink => "Inscrivez-vous",
            HaveAccount => "Vous avez déjà un compte ?",
            LoginLink => "Connectez-vous",
            MfaTitle => "Vérifiez votre identité",
            MfaText => {
                "Saisissez le code à 6 chiffres que votre application d'authentification affiche pour {app}."
            }
            MfaCodeLabel => "Code à usage unique",
            WrongCode => {
                "Ce code n'est pas valide. Saisissez le code que votre application affiche maintenant."
            }
            TooManyCodes => "Trop de codes erronés. Attendez quinze minutes et réessayez.",
            EnrolTitle => "Sécurisez votre compte",
            EnrolText => {
                "{app} demande un second facteur. Scannez le code QR avec une application d'authentification (ou saisissez la clé ci-dessous), puis entrez le code à 6 chiffres qu'elle affiche."
            }
            EnrolSecretLabel => {
                "Impossible de scanner ? Saisissez cette clé dans votre application :"
            }
            EnrolCodeLabel => "Code de l'application",
            EnrolQrLabel => "Code QR pour votre application d'authentification",
            WrongCredentials => "Adresse e-mail ou mot de passe incorrect.",
            Blocked => "Votre compte est bloqué. Contactez l'administrateur de {app}.",
            TooManyAttempts => {
                "Votre compte a été bloqué après plusieurs tentatives de connexion consécutives. Nous vous avons envoyé un e-mail expliquant comment le débloquer."
            }
            TryLater => {
                "Impossible de vous connecter pour le moment. Réessayez dans quelques minutes."
            }
            TooManySignups => {
                "Trop de comptes ont été créés depuis votre réseau. Réessayez plus tard."
            }
            SomethingWrong => "Une erreur s'est produite de notre côté. Réessayez dans un instant.",
            ResetRequestTitle => "Mot de passe oublié ?",
            ResetRequestText => {
                "Saisissez votre adresse e-mail : nous vous enverrons un lien pour choisir un nouveau mot de passe."
            }
            ResetRequestButton => "Envoyer le lien",
            ResetRequestSent => {
                "Si un compte existe pour cette adresse, nous lui avons envoyé un lien pour choisir un nouveau mot de passe. Consultez votre boîte de réception."
            }
            BackToLogin => "Retour à la connexion",
            ResetTitle => "Choisissez un nouveau mot de passe",
            ResetText => "Choisissez un nouveau mot de passe pour {email}.",
            ResetButton => "Enregistrer le mot de passe",
            ResetDone => {
                "Votre mot de passe a été modifié. Vous pouvez maintenant vous connecter avec le nouveau mot de passe."
            }
            PasswordsDiffer => "Les deux mots de passe diffèrent. Saisissez deux fois le même.",
            EnterPassword => "Saisissez un mot de passe.",
            EnterEmail => "Saisissez votre adresse e-mail.",
            InvalidEmail => "Saisissez une adresse e-mail valide.",
            EnterUsername => "Saisissez un nom d'utilisateur.",
            InvalidUsername => {
                "Ce nom d'utilisateur est trop court ou trop long pour {app}. Choisissez-en un autre."
            }
            UserExists => "Un compte existe déjà pour cette adresse. Connectez-vous plutôt.",
            SignupDisabled => "Les inscriptions sont fermées pour {app}.",
            LinkExpiredTitle => "Lien expiré",
            SessionExpired => {
                "Votre connexion a pris trop de temps et a expiré. Retournez sur {app} et reconnectez-vous."
            }
            OtherBrowser => {
                "Cette connexion a été commencée dans un autre navigateur ou un onglet fermé depuis, ou la page a été envoyée depuis un autre site. Retournez sur l'application et reconnectez-vous."
            }
            NoTransaction => {
                "Cette page ne s'ouvre pas seule. Retournez sur l'application et connectez-vous depuis celle-ci."
            }
            ErrorTitle => "Un problème est survenu",
            LoggedOutTitle => "Vous êtes déconnecté",
            LoggedOutText => "Vous avez été déconnecté. Vous pouvez fermer cette fenêtre.",
            ContinueToApp => "Continuer",
            RedirectingText => "Connexion en cours…",
            ShowPassword => "Afficher le mot de passe",
            PasswordHint => "Exigences du mot de passe :",
            HintMinChars => "Au moins {n} caractères.",
            HintLowerUpperDigits => "Des minuscules, des majuscules et des chiffres.",
            HintThreeOfFourKinds => {
                "Au moins 3 parmi : minuscules, majuscules, chiffres, caractères spéciaux."
            }
            HintNoTriples => "Jamais plus de deux fois le même caractère à la suite.",
            HintNotCommon => "Pas un mot de passe courant.",
            HintNoPersonalInfo => "Rien de votre adresse e-mail, nom d'utilisateur ou nom.",
            HintNotRecent => "Aucun de vos {n} derniers mots de passe.",
            WeakPassword => "Ce mot de passe est trop faible pour cette application.",
            CommonPassword => "Ce mot de passe est trop courant. Choisissez-en un autre.",
            PersonalInfoPassword => {
                "Ce mot de passe contient vos informations personnelles (adresse e-mail, nom d'utilisateur ou nom). Choisissez-en un autre."
            }
            ReusedPassword => {
                "Vous avez utilisé ce mot de passe récemment. Choisissez-en un autre."
            }
            InvalidLinkTitle => "Lien non valide",
            InvalidLinkText => {
                "Ce lien de réinitialisation n'est pas valide. Vérifiez que vous avez ouvert le lien complet du message, ou demandez-en un nouveau."
            }
            NoTicketText => {
                "Ce lien est incomplet : il ne contient pas de ticket. Ouvrez le lien complet du message."
            }
            LinkUsedText => {
                "Ce lien de réinitialisation a déjà servi, ou a été remplacé : un lien plus récent, un changement du mot de passe ou de l'adresse du compte, ou un blocage ferme les liens précédents. Pour changer votre mot de passe, demandez un nouveau lien."
            }
            LinkExpiredText => "Ce lien de réinitialisation a expiré. Demandez-en un nouveau.",
            AccountGoneText => "Le compte pour lequel ce lien a été créé n'existe plus.",
            PasswordChangedTitle => "Mot de passe modifié",
            PasswordTooLong => "Le mot de passe est trop long : 1024 caractères au plus.",
            BusyText => {
                "Le serveur est très sollicité. Revenez en arrière et réessayez dans un instant."
            }
            BadFormText => {
                "Le formulaire n'a pas pu être lu. Ouvrez de nouveau le lien du message."
            }
        },
    }
}

/// The password hint of a form: each of the rules' requirements in a
/// sentence of `lang`; `None` when they ask for nothing.
pub fn password_hint(
    lang: Lang,
    requirements: &[tern_core::password_policy::Requirement],
) -> Option<String> {
    use tern_core::password_policy::Requirement as R;
    let sentences: Vec<String> = requirements
        .iter()
        .map(|r| match *r {
            R::MinChars(n) => text(lang, Msg::HintMinChars).replace("{n}", &n.to_string()),
            R::LowerUpperDigits => text(lang, Msg::HintLowerUpperDigits).into(),
            R::ThreeOfFourKinds => text(lang, Msg::HintThreeOfFourKinds).into(),
            R::NoTriples => text(lang, Msg::HintNoTriples).into(),
            R::NotCommon => text(lang, Msg::HintNotCommon).into(),
            R::NoPersonalInfo => text(lang, Msg::HintNoPersonalInfo).into(),
            R::NotRecent(n) => text(lang, Msg::HintNotRecent).replace("{n}", &n.to_string()),
        })
        .collect();
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_first_then_accept_language_then_english() {
        let fr = vec!["de".to_string(), "fr-CA".to_string()];
        assert_eq!(Lang::choose(&fr, Some("en")), Lang::Fr);
        assert_eq!(Lang::choose(&[], Some("de-DE,fr;q=0.8,en;q=0.5")), Lang::Fr);
        assert_eq!(Lang::choose(&[], Some("fr;q=0, en")), Lang::En);
        assert_eq!(Lang::choose(&["ja".to_string()], None), Lang::En);
    }

    #[test]
    fn every_message_is_translated() {
        for lang in [Lang::En, Lang::Fr] {
            for msg in [
                Msg::LoginTitle,
                Msg::WrongCredentials,
                Msg::PasswordHint,
                Msg::OtherBrowser,
            ] {
                assert!(!text(lang, msg).is_empty());
            }
        }
        assert_ne!(
            text(Lang::Fr, Msg::LoginTitle),
            text(Lang::En, Msg::LoginTitle)
        );
    }
}
