// The SAML answer, posted again from the desk's own page (sso/saml_post.html): the
// session cookie (SameSite=Lax) goes with a same-site post only.
const form = document.getElementById("sso-post");
if (form) form.submit();
