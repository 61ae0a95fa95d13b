//! What to do with each verdict, per mode: the one place modes are interpreted (port of
//! `tracker_block/engine/policy.py`, whose `Options` stays the Python-facing configuration).

/// How the reader wants remote content handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Trackers,
    All,
    Proxy,
}

/// What the engine does with one remote load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadAction {
    Keep,
    Remove,
    Placeholder,
    Proxy,
}

pub const NOT_A_VISIBLE_IMAGE: &str = "policy:not-a-visible-image";

/// Tags inside Outlook conditional comments whose URLs are not images (the rest is VML, `<img>`, tables).
pub const COMMENT_NON_IMAGE_TAGS: &[&str] = &[
    "video", "audio", "source", "track", "image", "feimage", "use", "script", "iframe", "frame", "object",
    "embed", "applet", "bgsound",
];

/// Does this element attribute load an image the reader sees? Every other remote load goes in every mode.
pub fn is_visible_image(tag: &str, attr: &str) -> bool {
    attr == "background"
        || matches!(
            (tag, attr),
            ("img", "src") | ("img", "srcset") | ("img", "lowsrc") | ("source", "srcset") | ("input", "src")
                | ("video", "poster")
        )
        || (tag.starts_with("v:") && attr == "src")
}

/// Does a URL in this CSS property (lowercased) load an image painted on the element?
pub fn css_is_visible_image(prop: &str) -> bool {
    matches!(prop, "background" | "background-image" | "list-style" | "list-style-image" | "selector")
}

/// (action, policy reason) for a remote load; the reason is None when the verdict (a tracker) is it.
pub fn load_action(kind: &str, tracker: bool, mode: Mode, placeholder_ok: bool, image: bool)
    -> (LoadAction, Option<&'static str>) {
    if tracker {
        return (LoadAction::Remove, None);
    }
    if kind == "stylesheet" {
        // cannot be inspected without fetching it: it could load anything
        return (LoadAction::Remove, Some("policy:remote-stylesheet"));
    }
    if !image {
        return (LoadAction::Remove, Some(NOT_A_VISIBLE_IMAGE));
    }
    match mode {
        Mode::Trackers => (LoadAction::Keep, None),
        Mode::Proxy if matches!(kind, "image" | "pixel" | "css") => (LoadAction::Proxy, Some("policy:proxy")),
        Mode::Proxy => (LoadAction::Remove, Some("policy:proxy-images-only")),
        Mode::All => (if placeholder_ok { LoadAction::Placeholder } else { LoadAction::Remove },
                      Some("policy:remote-all")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_images_may_load() {
        assert!(is_visible_image("img", "src"));
        assert!(is_visible_image("td", "background"));
        assert!(is_visible_image("v:fill", "src"));
        assert!(!is_visible_image("video", "src"));
        assert_eq!(load_action("image", false, Mode::Trackers, true, false).0, LoadAction::Remove);
        assert_eq!(load_action("image", false, Mode::All, true, true).0, LoadAction::Placeholder);
        assert_eq!(load_action("stylesheet", false, Mode::Trackers, false, true).1, Some("policy:remote-stylesheet"));
        assert_eq!(load_action("video", false, Mode::Proxy, false, true).1, Some("policy:proxy-images-only"));
    }
}
