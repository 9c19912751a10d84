# The site in site.language: the fixed words of every page come from
# LANG.strings beside the templates (es, then ar, then pt-BR through its
# base language pt, switched by a reload, which also drops the pages kept
# in memory), with lang and dir on <html> (dir="rtl" for Arabic); a
# strings file in templates.dir overrides the default one and a key it
# lacks shows in English; the pages stay valid HTML5 (Nu Html Checker).
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }
VNU=${BROADSIDE_WEB:-$TOP/.cache/web}/node_modules/vnu-jar/build/dist/vnu.jar

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };
site: { language = \"es\"; };"
sed -i "s|base_url = \"https://lists.example.org\"|base_url = \"$U\"|" "$T/broadside.conf"
start_daemon
mkdir -p "$T/p"
fetch() { n=$1; shift; c=$(curl -s -o "$T/p/$n.html" -w '%{http_code}' "$@"); echo "$c"; }
has() { grep -qF -- "$2" "$T/p/$1.html" || fail "$1: no \"$2\""; }
lang() { sed -i "s|language = \"[^\"]*\"|language = \"$1\"|" "$T/broadside.conf"; bs reload >/dev/null || fail "reload"; }

bs subscribers add reader@example.org Reader >/dev/null || fail "add"
printf 'Title: Una nota\n\nPrimer párrafo.\n' > "$T/st.txt"
bs send --wait "$T/st.txt" >/dev/null 2>"$T/err" || { cat "$T/err"; fail "send"; }
UNSUB=$("$PY" "$TOP/tests/py/site_mail.py" "$T/mail" reader@example.org unsubscribe) || fail "no unsubscribe link"
[ "$(fetch es-notice "$U/subscribe" -H 'Accept: text/html' --data 'email=nuevo@example.net')" = 200 ] || fail "subscribe"
i=0
until CONFIRM=$("$PY" "$TOP/tests/py/site_mail.py" "$T/mail" nuevo@example.net confirm); do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no confirmation mail"; sleep 0.1
done

# pages NAME-PREFIX: the site's pages in the current language
pages() {
	[ "$(fetch "$1-home" "$U/")" = 200 ] || fail "$1: /"
	[ "$(fetch "$1-form" "$U/subscribe")" = 200 ] || fail "$1: /subscribe"
	[ "$(fetch "$1-index" "$U/archive/")" = 200 ] || fail "$1: /archive/"
	[ "$(fetch "$1-unsub" "$UNSUB")" = 200 ] || fail "$1: unsubscribe page"
	[ "$(fetch "$1-confirm" "$CONFIRM")" = 200 ] || fail "$1: confirm page"
}

pages es
has es-home '<html lang="es" dir="ltr">'
has es-home '<h2>Últimos comunicados</h2>'
has es-home '<label for="email">Correo electrónico</label>'
has es-home '<button type="submit">Suscribirse</button>'
has es-form '<title>Suscribirse a Test List</title>'
has es-unsub '<button type="submit">Darme de baja</button>'
has es-confirm '<button type="submit">Confirmar mi suscripción</button>'
has es-confirm '<title>Confirma tu suscripción</title>'
has es-notice '<h1>Revisa tu correo</h1>'
ok "es: front page, form, unsubscribe and confirm pages, the notice"

lang ar
pages ar
has ar-home '<html lang="ar" dir="rtl">'
has ar-home '<h2>أحدث البيانات</h2>'
has ar-confirm '<button type="submit">تأكيد اشتراكي</button>'
ok "ar after a reload: right to left, Arabic words"

lang pt-br
pages pt
has pt-home '<html lang="pt-BR" dir="ltr">'
has pt-home '<button type="submit">Inscrever-se</button>'
has pt-unsub '<button type="submit">Cancelar a inscrição</button>'
ok "pt-BR: the words of pt.strings, lang pt-BR"

# an override folder's es.strings replaces the default one; what it lacks
# is English (the folder holds a copy of the templates: the built-in
# folder of this build is not installed)
mkdir -p "$T/tpl"
cp "$TOP"/templates/*.mustache "$TOP"/templates/en.strings "$T/tpl/"
printf '# one key only\nlatest = Lo más nuevo de {{list_name}}\n' > "$T/tpl/es.strings"
sed -i "s|dir = \"$TOP/templates\"|dir = \"tpl\"|" "$T/broadside.conf"
grep -q 'dir = "tpl"' "$T/broadside.conf" || fail "config not rewritten"
lang es
[ "$(fetch over-home "$U/")" = 200 ] || fail "override: /"
has over-home '<h2>Lo más nuevo de Test List</h2>'
has over-home '<label for="email">Email address</label>'
has over-home '<html lang="es" dir="ltr">'
ok "templates.dir/es.strings overrides; a key it lacks falls back to en.strings"

if command -v java >/dev/null && [ -f "$VNU" ]; then
	java -jar "$VNU" --errors-only --format gnu "$T"/p/*.html > "$T/vnu.out" 2>&1 ||
	    { cat "$T/vnu.out" >&2; fail "vnu.jar found errors"; }
	ok "Nu Html Checker: no errors on $(ls "$T"/p/*.html | wc -l) pages in es, ar, pt-BR"
else
	echo "no java or $VNU: HTML not validated here (site_html does it in English)"
fi
